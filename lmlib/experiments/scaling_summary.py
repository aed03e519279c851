"""The summary of a scaling sweep, computed from its run files alone (no training).

Per size (ordered by compute) and per seed, every probe metric; its median and min-max over seeds;
the compute-efficient frontier of the loss curves with its power-law fit and bootstrap interval;
the largest size's loss predicted from the smaller ones, and how both depend on where the frontier
starts; each task's curve shape per seed and the label most seeds agree on; and the sweep's wall
time from its runs' own clocks.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from lmlib.analysis.frontier import Curve, fit_frontier, predict_largest
from lmlib.analysis.power_law import fit_power_law, shape_across_seeds

# probe/metric -> chance level of the metric's shape label (two-way probes: 0.5)
CHANCE = {"two_way": 0.5}
# The frontier starts after the first fifth of the shortest run's compute: before that, every curve
# is still in its early drop (the unigram and bigram statistics are being learned) and the
# envelope of those steep transients does not follow the power law of the later points.
MIN_STEP_FRACTION = 0.2
START_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)  # the fit's sensitivity to its start


def seed_stats(values: dict[int, float]) -> dict:
    vals = sorted(values.values())
    n = len(vals)
    median = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return {
        "median": median,
        "min": vals[0],
        "max": vals[-1],
        "seeds": {str(k): v for k, v in values.items()},
    }


def snapshot_compute(run: dict, snap: dict) -> float:
    """FLOPs spent when a snapshot was taken (recorded, or from its step for older runs)."""
    if "compute" in snap:
        return snap["compute"]
    per_step = run["train_config"]["batch_size"] * run["model_config"]["context"]
    return float(run["flops_per_token"] * per_step * snap["step"])


def loss_curves(runs: list[dict], sizes: list[str]) -> list[Curve]:
    """Each size's held-out loss curve (every snapshot after step 0), one row per seed."""
    curves = []
    for n in sizes:
        rs = sorted((r for r in runs if r["size"] == n), key=lambda r: r["seed"])
        compute = tuple(snapshot_compute(rs[0], sn) for sn in rs[0]["snapshots"] if sn["step"])
        rows = tuple(tuple(sn["loss"] for sn in r["snapshots"] if sn["step"]) for r in rs)
        curves.append(Curve(n, compute, rows))
    return curves


def _fit_from(curves: list[Curve], fraction: float) -> dict:
    """The frontier fit and the held-out prediction when the frontier starts at `fraction`."""
    min_c = fraction * min(c.compute[-1] for c in curves)
    ff, h = fit_frontier(curves, min_c, n_boot=0), predict_largest(curves, min_c)
    return {
        "fraction": fraction,
        "points": len(ff.points),
        "span_decades": ff.span_decades,
        "r2_log": ff.r2_log,
        "alpha": ff.fit.alpha,
        "predicted": h.predicted,
        "error": h.error,
        "naive_error": h.naive_error,
    }


def _time(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def summarize_runs(profile: str, runs: list[dict]) -> dict:
    first = {}
    for r in sorted(runs, key=lambda r: (r["compute"], r["seed"])):
        first.setdefault(r["size"], r)
    sizes = list(first)  # ordered by compute
    seeds = sorted({r["seed"] for r in runs})
    by = {(r["size"], r["seed"]): r for r in runs}
    missing = [(n, s) for n in sizes for s in seeds if (n, s) not in by]
    if missing:
        raise ValueError(f"the sweep lacks runs {missing}; rerun `lmlib run scaling` to fill them")

    def stats(get) -> dict:
        return {n: seed_stats({s: float(get(by[n, s])) for s in seeds}) for n in sizes}

    metrics, shapes = {}, {}
    for probe, scores in first[sizes[0]]["probes"].items():
        for metric in scores:
            key = f"{probe}/{metric}"
            metrics[key] = stats(lambda r, p=probe, m=metric: r["probes"][p][m])
            if len(sizes) >= 2:
                sign = -1 if metric == "loss" else 1  # shapes read higher = better
                per_seed = [[sign * metrics[key][n]["seeds"][str(s)] for n in sizes] for s in seeds]
                label, labels = shape_across_seeds(per_seed, chance=CHANCE.get(metric))
                shapes[key] = {"label": label, "seeds": dict(zip(map(str, seeds), labels))}
    loss = stats(lambda r: r["decomposition"]["loss"])
    out = {
        "experiment": "scaling",
        "profile": profile,
        "sizes": sizes,
        "seeds": seeds,
        "params": [first[n]["params_non_embedding"] for n in sizes],
        "compute": [first[n]["compute"] for n in sizes],
        "tokens": first[sizes[0]]["tokens"],
        "loss": loss,
        "metrics": metrics,
        "shapes": shapes,
        "runs": [f"{n}-seed{s}.json" for n in sizes for s in seeds],
        "git_commits": sorted({r["git_commit"] or "unknown" for r in runs}),
        "run_wall_time_s": round(sum(r.get("wall_time_s", 0.0) for r in runs), 1),
        "run_cpu_time_s": round(sum(r.get("cpu_time_s", 0.0) for r in runs), 1),
    }
    if all("started" in r for r in runs):
        start = min(_time(r["started"]) for r in runs)
        out["sweep_wall_time_s"] = round(max(_time(r["finished"]) for r in runs) - start, 1)
    curves = loss_curves(runs, sizes)
    min_c = MIN_STEP_FRACTION * min(c.compute[-1] for c in curves)
    try:
        ff = fit_frontier(curves, min_c)
        out["frontier"] = asdict(ff)
        out["held_out"] = asdict(predict_largest(curves, min_c))
        finals = [loss[n]["median"] for n in sizes]
        out["params_fit"] = asdict(fit_power_law(out["params"], finals))
        out["fit_start"] = [_fit_from(curves, f) for f in START_FRACTIONS]
    except ValueError as e:  # too few sizes or points (the ci profile)
        out["frontier_error"] = str(e)
    return out
