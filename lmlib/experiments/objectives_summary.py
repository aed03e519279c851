"""The objectives sweep read: the floor, the instrument's validity, paired differences by seed.

Every score is a mean of three held-out accuracies, each over n_test examples; its standard error
from the test sample is sqrt(sum_t p_t (1 - p_t) / n_test) / 3. A difference between two scores of
one seed gets the two errors added in quadrature (counted as independent: the larger, safer
choice for two models scored on the same examples).
"""

from __future__ import annotations

import math
from dataclasses import asdict

from lmlib.analysis.context_tasks import TASKS

SIGMAS = 3.0  # the instrument is valid when MLM beats the floor by more than this many SEs
TARGET_CHECKPOINTS, TARGET_SEEDS = 3, 2  # ELECTRA ahead at >= 3 of 4 checkpoints in >= 2 seeds


def score_se(point: dict, n_test: int) -> float:
    """Standard error of a point's score from the test sample alone."""
    return math.sqrt(sum(point[t] * (1 - point[t]) / n_test for t in TASKS)) / len(TASKS)


def mean_se(xs: list[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (0 for a single value)."""
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, 0.0
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return m, sd / math.sqrt(len(xs))


def validity(table: dict, n_test: int) -> dict:
    """MLM's full-budget score against the untrained floor, per seed and over the seeds."""
    per_seed = {}
    for seed, r in table["mlm"].items():
        floor, final = r["points"][0], r["final"]
        d = final["score"] - floor["score"]
        se = math.hypot(score_se(floor, n_test), score_se(final, n_test))
        per_seed[seed] = {"floor": floor["score"], "mlm": final["score"], "diff": d, "se": se,
                          "sigmas": d / se}  # fmt: skip
    m, se = mean_se([v["diff"] for v in per_seed.values()])
    sigmas = m / se if se > 0 else float("inf")
    valid = sigmas > SIGMAS and all(v["sigmas"] > SIGMAS for v in per_seed.values())
    return {"per_seed": per_seed, "mean_diff": m, "se": se, "sigmas": sigmas, "valid": valid}


def paired(table: dict, name: str, n_test: int) -> dict:
    """``name`` - MLM at each checkpoint (not the untrained point), seed by seed."""
    out = {}
    for seed, r in table.get(name, {}).items():
        m = table["mlm"][seed]["points"][1:]
        out[seed] = [
            {
                "share": c,
                "diff": p["score"] - q["score"],
                "se": math.hypot(score_se(p, n_test), score_se(q, n_test)),
                **{t: p[t] - q[t] for t in TASKS},
            }  # fmt: skip
            for c, p, q in zip(r["shares"], r["points"][1:], m)
        ]
    return out


def summarize(profile: str, runs: list[dict], s, bag_of_words: dict[str, float]) -> dict:
    table: dict = {}
    for r in runs:
        points = [{k: p[k] for k in ("step", "flops", *TASKS, "score")} for p in r["points"]]
        table.setdefault(r["run"], {})[str(r["seed"])] = {
            "steps": r["steps"],
            "flops_per_step": r["flops_per_step"],
            "shares": list(s.pretrain.checkpoints),
            "wall_time_s": r.get("wall_time_s"),
            "cpu_time_s": r.get("cpu_time_s"),
            "points": points,
            "final": points[-1],
            "loss": r["loss"],
        }
    floors = {
        seed: sorted(
            {
                round(by_seed[seed]["points"][0]["score"], 9)
                for by_seed in table.values()
                if seed in by_seed
            }
        )  # fmt: skip
        for seed in table["mlm"]
    }
    versus = {n: paired(table, n, s.n_test) for n in table if n != "mlm"}
    wins = {
        seed: sum(d["diff"] > 0 for d in diffs) for seed, diffs in versus.get("electra", {}).items()
    }
    seeds_ahead = sum(w >= TARGET_CHECKPOINTS for w in wins.values())
    cpu = sum(r.get("cpu_time_s") or 0 for r in runs)
    return {
        "experiment": "objectives",
        "profile": profile,
        "settings": asdict(s),
        "runs": table,
        "floor_by_seed": floors,  # one value per seed: every objective started from one encoder
        "bag_of_words": bag_of_words,
        "validity": validity(table, s.n_test),
        "versus_mlm": versus,
        "electra_wins": wins,  # checkpoints (of 4) where ELECTRA's score is above MLM's
        "target_met": seeds_ahead >= TARGET_SEEDS,
        "cpu_time_s": round(cpu, 2),
        "two_core_minutes": round(cpu / 2 / 60, 2),  # the CPU time shared by 2 cores
    }
