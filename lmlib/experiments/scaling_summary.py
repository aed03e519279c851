"""The summary of a scaling sweep, computed from its run files alone (no training).

Per size (ordered by compute) and per seed, every probe metric; its median and min-max over seeds;
each task's curve shape per seed on the main ladder (one depth, widths evenly spaced in log
compute, shapes read per decade) and on the two-layer control; the compute-efficient frontier of
the main ladder's loss curves with its power-law fit and bootstrap interval; the largest size's
loss predicted from sizes with a quarter of its compute or less, pooled and seed by seed, and how
both depend on where the frontier starts; the mirage (per-fact recall against all-or-nothing
composites of it) and the memo trap's U per seed (lmlib.analysis.emergence); and the sweep's wall
and CPU time from its runs' own clocks.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from lmlib.analysis.emergence import composites, wei_u
from lmlib.analysis.frontier import Curve, fit_frontier, one_seed, predict_ahead
from lmlib.analysis.power_law import curve_shape, fit_power_law, shape_across_seeds
from lmlib.data.knowledge import RELATIONS

# probe/metric -> chance level of the metric's shape label (two-way probes: 0.5)
CHANCE = {"two_way": 0.5}
# The fit window, fixed before the sweep it is applied to: the frontier starts after the first
# fifth of the smallest main size's compute. Before that every curve is still in its early drop
# (unigram and bigram statistics being learned), whose envelope does not follow the power law of
# the later points. START_FRACTIONS shows how the fit and the prediction depend on this choice.
MIN_STEP_FRACTION = 0.2
START_FRACTIONS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)  # the fit's sensitivity to its start
AHEAD = 4.0  # the prediction's target has at least this many times the compute the fit saw


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
    """The frontier fit and the prediction ahead when the frontier starts at `fraction`."""
    min_c = fraction * min(c.compute[-1] for c in curves)
    ff, h = fit_frontier(curves, min_c, n_boot=0), predict_ahead(curves, AHEAD, min_c)
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


def ladders(runs: list[dict], sizes: list[str]) -> dict[str, list[str]]:
    """Each ladder's sizes in compute order; the U ladder is the one-layer sizes, then main."""
    of = {r["size"]: r.get("ladder", "main") for r in runs}
    out = {name: [n for n in sizes if of[n] == name] for name in ("one", "control", "main")}
    out["u"] = out["one"] + out["main"]
    return out


def mirage(by: dict, main: list[str], seeds: list[int], compute: list[float]) -> dict:
    """Per seed: per-fact recall, the quiz and person composites, the product of the per-relation
    recalls, their shapes per decade, and the largest |quiz - product| over the ladder."""
    out = {}
    for s in seeds:
        rows = [composites(by[n, s]["items"]["facts"], len(RELATIONS), seed=s) for n in main]
        keys = ("recall", "product", "quiz", "person")
        shape = {k: curve_shape([r[k] for r in rows], compute=compute) for k in keys}
        out[str(s)] = {
            "sizes": rows,
            "shapes": shape,
            "quiz_vs_product": max(abs(r["quiz"] - r["product"]) for r in rows),
            "person_vs_product": max(abs(r["person"] - r["product"]) for r in rows),
        }
    return out


def u_test(by: dict, u: list[str], seeds: list[int], metrics: dict) -> dict:
    """The memo trap along the U ladder, per seed: Wei et al.'s U test and the shape label."""
    key, n = "memo_trap/two_way", by[u[0], seeds[0]]["probe_items"]["memo_trap"]
    out = {}
    for s in seeds:
        values = [metrics[key][z]["seeds"][str(s)] for z in u]
        out[str(s)] = {
            "values": values,
            "n_items": n,
            **wei_u(values, n, chance=0.5),
            "shape": curve_shape(values, chance=0.5, compute=[by[z, s]["compute"] for z in u]),
        }
    return out


def predictions(curves: list[Curve], min_c: float, seeds: list[int]) -> dict:
    """The prediction ahead from the seed-median curves and from each seed's own curves."""
    out = {"pooled": asdict(predict_ahead(curves, AHEAD, min_c))}
    for i, s in enumerate(seeds):
        out[str(s)] = asdict(predict_ahead(one_seed(curves, i), AHEAD, min_c))
    return out


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
    lad = ladders(runs, sizes)

    def stats(get) -> dict:
        return {n: seed_stats({s: float(get(by[n, s])) for s in seeds}) for n in sizes}

    metrics, shapes = {}, {"main": {}, "control": {}}
    for probe, scores in first[sizes[0]]["probes"].items():
        for metric in scores:
            key = f"{probe}/{metric}"
            metrics[key] = stats(lambda r, p=probe, m=metric: r["probes"][p][m])
            for name, ns in (("main", lad["main"]), ("control", lad["control"])):
                if len(ns) < 2:
                    continue
                sign = -1 if metric == "loss" else 1  # shapes read higher = better
                per_seed = [[sign * metrics[key][n]["seeds"][str(s)] for n in ns] for s in seeds]
                compute = [first[n]["compute"] for n in ns]
                label, labels = shape_across_seeds(
                    per_seed, chance=CHANCE.get(metric), compute=compute
                )
                shapes[name][key] = {"label": label, "seeds": dict(zip(map(str, seeds), labels))}
    loss = stats(lambda r: r["decomposition"]["loss"])
    out = {
        "experiment": "scaling",
        "profile": profile,
        "sizes": sizes,
        "seeds": seeds,
        "ladders": lad,
        "layers": [first[n]["model_config"]["n_layers"] for n in sizes],
        "widths": [first[n]["model_config"]["d_model"] for n in sizes],
        "params": [first[n]["params_non_embedding"] for n in sizes],
        "compute": [first[n]["compute"] for n in sizes],
        "tokens": first[sizes[0]]["tokens"],
        "held_out_tokens": first[sizes[0]].get("held_out_tokens"),
        "probe_items": first[sizes[0]].get("probe_items"),
        "loss": loss,
        "metrics": metrics,
        "shapes": shapes["main"],
        "shapes_control": shapes["control"],
        "runs": [f"{n}-seed{s}.json" for n in sizes for s in seeds],
        "git_commits": sorted({r["git_commit"] or "unknown" for r in runs}),
        "run_wall_time_s": round(sum(r.get("wall_time_s", 0.0) for r in runs), 1),
        "run_cpu_time_s": round(sum(r.get("cpu_time_s", 0.0) for r in runs), 1),
        "fit_window": MIN_STEP_FRACTION,
        "ahead_factor": AHEAD,
    }
    if all("started" in r for r in runs):
        start = min(_time(r["started"]) for r in runs)
        out["sweep_wall_time_s"] = round(max(_time(r["finished"]) for r in runs) - start, 1)
    main_compute = [first[n]["compute"] for n in lad["main"]]
    if all("items" in r for r in runs) and len(lad["main"]) >= 2:
        out["mirage"] = mirage(by, lad["main"], seeds, main_compute)
    if all("items" in r for r in runs) and len(lad["u"]) >= 3:
        out["u"] = u_test(by, lad["u"], seeds, metrics)
    curves = loss_curves(runs, lad["main"])
    min_c = MIN_STEP_FRACTION * min(c.compute[-1] for c in curves)
    try:
        ff, held_out = fit_frontier(curves, min_c), predictions(curves, min_c, seeds)
        out["frontier"] = asdict(ff)
        out["frontier_min_compute"] = min_c
        out["held_out"] = held_out
        finals = [loss[n]["median"] for n in lad["main"]]
        out["params_fit"] = asdict(
            fit_power_law([first[n]["params_non_embedding"] for n in lad["main"]], finals)
        )
        out["fit_start"] = [_fit_from(curves, f) for f in START_FRACTIONS]
    except ValueError as e:  # too few sizes or points (the ci profile)
        out["frontier_error"] = str(e)
    return out
