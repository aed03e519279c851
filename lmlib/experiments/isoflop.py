"""Experiment: compute-optimal model size from IsoFLOP profiles, and a data-scaling curve.

A. IsoFLOP profiles (Hoffmann et al. 2022) on tiny Shakespeare read as characters. At each
   training budget C, models of one depth and several widths each train for the steps that spend
   exactly C = 6 N D FLOPs (N parameters, D tokens), every one with its own warmup-and-cosine
   schedule that ends at the budget. Their final held-out loss against log N is fitted by a
   parabola whose vertex is N_opt(C); then N_opt ~ C^a and D_opt ~ C^b (lmlib.analysis.isoflop).
B. Wei's data-scaling curve: one task (held-out two-digit sums, lmlib.data.multitask's format)
   scored against the number of distinct training examples, at a fixed number of steps.

`lmlib run isoflop` runs every seed of the profile (a file each; existing files are kept), then
gathers them in summary.json and draws the figures (lmlib.experiments.isoflop_figures).
"""

from __future__ import annotations

import math
import random
import time
from pathlib import Path

import torch

from lmlib.analysis import isoflop as fit
from lmlib.data.shakespeare import tiny_shakespeare
from lmlib.data.tokenizer import CharTokenizer
from lmlib.experiments.results import (
    completed,
    load_seeds,
    profile_seeds,
    provenance,
    run_seeds,
    write_results,
)
from lmlib.experiments.scaling import lr_for
from lmlib.experiments.sizes import Size
from lmlib.experiments.tokenization import sum_text, sums
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import evaluating, pick_device, seed_everything, torch_threads
from lmlib.runtime.profiles import by_profile
from lmlib.training.train import TrainConfig, evaluate, train

SWEEP = True
WINDOW = 5  # sizes per budget: the parabola is fitted through all five, none left out
# Each budget's five widths start one rung further up the ladder than the previous budget's:
# N_opt grows by 0.25-0.37 decades per half-decade of compute for any a from 0.5 to 0.73, and a
# rung of the ladder is 0.3-0.35 decades of N, so the valley stays inside every window.
RUNG_PER_BUDGET = 1
EVAL_SEED = 1234  # the same held-out windows for every model, budget and seed
BOOTSTRAP_DRAWS, BOOTSTRAP_SEED = 1000, 0
SUM_DIGITS = 2  # the data curve's task: sums of one- and two-digit numbers


def settings(profile: str) -> dict:
    """Sizes per profile (ci: seconds; cpu: about five minutes a seed on one core)."""
    return by_profile(
        ci=dict(
            budgets=[1e8, 3e8, 1e9], widths=[4, 6, 8, 12, 16, 24, 32], n_layers=2, n_heads=1,
            context=32, batch_size=8, lr=3e-3, eval_batches=4, seeds=[0],
            data=dict(n_train=[16, 64, 256], n_test=50, steps=30, d_model=16, batch_size=16),
        ),
        cpu=dict(
            budgets=[3e10, 1e11, 3e11], widths=[6, 8, 12, 16, 24, 32, 48], n_layers=2,
            n_heads=1, context=64, batch_size=32, lr=3e-3, eval_batches=64, seeds=[0, 1, 2],
            data=dict(n_train=[125, 250, 500, 1000, 2000, 4000], n_test=400, steps=3000,
                      d_model=64, batch_size=32),
        ),
        gpu=dict(
            budgets=[1e13, 3.16e13, 1e14], widths=[24, 32, 48, 64, 96, 128, 192], n_layers=2,
            n_heads=1, context=64, batch_size=256, lr=3e-3, eval_batches=64, seeds=[0, 1, 2],
            data=dict(n_train=[125, 250, 500, 1000, 2000, 4000, 8000], n_test=1000, steps=6000,
                      d_model=128, batch_size=64),
        ),
        profile=profile,
    )  # fmt: skip


def window(s: dict, k: int) -> list[int]:
    """The widths trained at budget number k: WINDOW rungs, moved up RUNG_PER_BUDGET a budget."""
    start = k * RUNG_PER_BUDGET
    widths = s["widths"][start : start + WINDOW]
    if len(widths) < WINDOW:
        raise ValueError(f"budget {k} needs widths[{start}:{start + WINDOW}]; add widths")
    return widths


def model_config(s: dict, d_model: int, vocab_size: int = 65) -> TransformerConfig:
    return TransformerConfig(
        vocab_size, s["context"], d_model, s["n_heads"], s["n_layers"], pos="rope"
    )


def plan(s: dict, vocab_size: int = 65) -> list[dict]:
    """Every (budget, width) run of a seed: its parameters and steps (lmlib.analysis.isoflop)."""
    per_step = s["batch_size"] * s["context"]
    out = []
    for k, budget in enumerate(s["budgets"]):
        for d in window(s, k):
            n = TransformerLM(model_config(s, d, vocab_size)).num_params()
            steps = fit.isoflop_steps(budget, n, per_step)
            out.append(dict(budget=budget, d_model=d, params=n, steps=steps))
    return out


def train_config(s: dict, d_model: int, steps: int, seed: int) -> TrainConfig:
    """One run's own schedule: warmup over a tenth of its steps, cosine to the last one."""
    base = TrainConfig(steps=steps, batch_size=s["batch_size"], lr=s["lr"],
                       warmup_steps=max(1, steps // 10), eval_every=steps, eval_batches=1,
                       seed=seed, progress=False)  # fmt: skip
    return lr_for(Size("", s["n_layers"], d_model, s["n_heads"]), base)


def isoflop_run(s: dict, point: dict, data, seed: int) -> dict:
    """Train one (budget, width) point from fresh weights; its final held-out loss."""
    seed_everything(seed)
    model = TransformerLM(model_config(s, point["d_model"], data.tokenizer.vocab_size))
    cfg = train_config(s, point["d_model"], point["steps"], seed)
    completed(train(model, data.train, data.val, cfg))
    loss = evaluate(model, data.val, s["batch_size"], s["eval_batches"], EVAL_SEED)
    tokens = point["steps"] * s["batch_size"] * s["context"]
    return {**point, "tokens": tokens, "lr": cfg.lr, "val_loss": loss,
            "compute_6nd": fit.FLOPS_PER_PARAM_TOKEN * point["params"] * tokens,
            "compute_counted": model.flops_per_token() * tokens}  # fmt: skip


# ---- B. the data-scaling curve -----------------------------------------------------------------


def sums_tokenizer() -> CharTokenizer:
    return CharTokenizer("0123456789+=.\n")


def sum_scores(model: TransformerLM, tok: CharTokenizer, test: list[tuple[int, int]]) -> dict:
    """Exact match and per-character accuracy of the answers (digits and the closing '.') to
    held-out sums, read greedily: one teacher-forced pass is exact match under greedy decoding,
    since greedy output equals the answer iff every answer token is the argmax after a right
    prefix."""
    lines = ["\n" + sum_text(a, b) for a, b in test]
    width = max(len(line) for line in lines)
    ids = torch.stack([tok.encode(line.ljust(width, "\n")) for line in lines])  # (N, W)
    mask = torch.zeros_like(ids, dtype=torch.bool)  # (N, W): the answer's tokens
    for i, line in enumerate(lines):
        mask[i, line.index("=") + 1 : len(line) - 1] = True
    with torch.no_grad(), evaluating(model):
        right = model(ids[:, :-1]).argmax(-1) == ids[:, 1:]  # (N, W - 1)
    m = mask[:, 1:]
    return {
        "exact_match": float((right | ~m).all(dim=1).float().mean()),
        "char_accuracy": float(right[m].float().mean()),
    }


def sums_model_config(s: dict) -> TransformerConfig:
    """The data curve's model: the profile's depth at the data curve's width, 16 characters."""
    vocab = sums_tokenizer().vocab_size
    return TransformerConfig(vocab, 16, s["data"]["d_model"], s["n_heads"], s["n_layers"])


def data_curve(s: dict, seed: int) -> list[dict]:
    """The same model and steps trained on n distinct sums for each n; scored on held-out ones."""
    return [data_point(s, n, seed) for n in s["data"]["n_train"]]


def data_point(s: dict, n: int, seed: int) -> dict:
    """One point of the data curve: the model trained on the first n distinct training sums."""
    d, tok = s["data"], sums_tokenizer()
    rng = random.Random(2000 + seed)
    test = sums(d["n_test"], rng, SUM_DIGITS)
    # distinct training sums, none of them a test sum; a smaller n is a prefix of a larger one
    pool = list(dict.fromkeys(sums(4 * max(d["n_train"]), rng, SUM_DIGITS, frozenset(test))))
    ids = tok.encode("".join(sum_text(a, b) for a, b in pool[:n]))
    seed_everything(seed)
    model = TransformerLM(sums_model_config(s))
    run = TrainConfig(steps=d["steps"], batch_size=d["batch_size"], lr=s["lr"],
                      warmup_steps=d["steps"] // 10, eval_every=d["steps"], eval_batches=1,
                      seed=seed, progress=False)  # fmt: skip
    completed(train(model, ids, ids, run))
    return {"n_train": len(pool[:n]), **sum_scores(model, tok, test)}


# ---- a seed, the sweep, the summary --------------------------------------------------------


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    data = tiny_shakespeare()
    start = time.process_time()
    with torch_threads(1):  # one thread: the same numbers on any machine, in a worker or not
        runs = [isoflop_run(s, p, data, seed) for p in plan(s, data.tokenizer.vocab_size)]
    record = {
        "experiment": "isoflop",
        "profile": profile,
        "seed": seed,
        "settings": s,
        "window": WINDOW,
        "runs": runs,
        "cpu_s": {"isoflop": round(time.process_time() - start, 2)},
        **provenance(pick_device("cpu")),
    }
    return with_data_curve(record, s)


def with_data_curve(record: dict, s: dict) -> dict:
    """`record` with its data curve computed at the settings `s`, timed and stamped apart."""
    start = time.process_time()
    with torch_threads(1):
        record["data_curve"] = data_curve(s, record["seed"])
    record["settings"] = {**record["settings"], "data": s["data"]}
    record["cpu_s"]["data_curve"] = round(time.process_time() - start, 2)
    record["data_curve_provenance"] = provenance(pick_device("cpu"))
    return record


def run_sweep(profile: str, root: Path, seeds=None, jobs: int = 1) -> dict:
    """Every seed of the profile, `jobs` at a time; seeds whose file exists are kept (resume)."""
    return {"seeds": run_seeds(__name__, profile, root, seeds, jobs)}


def load(root: Path, profile: str) -> list[dict]:
    """The results of every seed of the profile, in seed order."""
    return load_seeds(root, profile, profile_seeds(__name__, profile))


def profiles(runs: list[dict]) -> dict:
    """Per budget: log N (S,), and the final losses (R, S) of the R seeds."""
    budgets = sorted({r["budget"] for r in runs[0]["runs"]})
    out = {}
    for c in budgets:
        points = [[p for p in r["runs"] if p["budget"] == c] for r in runs]
        out[c] = {
            "log_n": [math.log(p["params"]) for p in points[0]],
            "loss": [[p["val_loss"] for p in seed] for seed in points],
        }
    return out


def inside(log_n: list[list[float]], n_opt: list[float]) -> list[bool]:
    """Per budget: does the vertex lie within the sizes trained (else it is extrapolated)?"""
    return [min(xs) <= math.log(n) <= max(xs) for xs, n in zip(log_n, n_opt)]


def summarize(runs: list[dict]) -> dict:
    """N_opt per budget (seeds' mean losses, and each seed alone), a and b with bootstrap
    intervals over sizes and seeds, tokens per parameter, and the data curve's means."""
    prof = profiles(runs)
    budgets = list(prof)
    log_n = [prof[c]["log_n"] for c in budgets]
    mean = [torch.tensor(prof[c]["loss"]).mean(0).tolist() for c in budgets]
    n_opt = fit.optimal_sizes(budgets, log_n, mean)
    per_seed = []
    for i, r in enumerate(runs):
        n_i = fit.optimal_sizes(budgets, log_n, [prof[c]["loss"][i] for c in budgets])
        per_seed.append({"seed": r["seed"], "n_opt": n_i, "inside": inside(log_n, n_i),
                         **fit.scaling_exponents(budgets, n_i)})  # fmt: skip
    losses = [prof[c]["loss"] for c in budgets]
    boot = fit.bootstrap_exponents(budgets, log_n, losses, BOOTSTRAP_DRAWS, BOOTSTRAP_SEED)
    curve = {}
    for r in runs:
        for row in r["data_curve"]:
            curve.setdefault(row["n_train"], []).append(row["exact_match"])
    return {
        "experiment": "isoflop",
        "profile": runs[0]["profile"],
        "seeds": [r["seed"] for r in runs],
        "budgets": budgets,
        "n_opt": n_opt,
        "inside": inside(log_n, n_opt),
        "d_opt": [c / (fit.FLOPS_PER_PARAM_TOKEN * n) for c, n in zip(budgets, n_opt)],
        "tokens_per_param": [fit.tokens_per_parameter(c, n) for c, n in zip(budgets, n_opt)],
        "window_params": [[round(math.exp(x)) for x in xs] for xs in log_n],
        **fit.scaling_exponents(budgets, n_opt),
        "bootstrap": boot,
        "per_seed": per_seed,
        "data_curve": {n: sum(v) / len(v) for n, v in curve.items()},
        "cpu_time_s": sum(r.get("cpu_time_s", 0.0) for r in runs),
    }


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    from lmlib.experiments.isoflop_figures import draw_all

    runs = load(root, profile)
    summary = summarize(runs)
    write_results(Path(root) / profile / "summary.json", summary)
    return draw_all(runs, summary, profiles(runs), outdir)


def gpu_memory(profile: str = "gpu") -> list[tuple[str, int]]:
    """(run, training bytes) of every model of the profile (lmlib.tools.memory's count)."""
    from lmlib.tools.memory import transformer_training_bytes

    s = settings(profile)
    out = [(f"width {d}", transformer_training_bytes(model_config(s, d), s["batch_size"]))
           for d in s["widths"]]  # fmt: skip
    sums = transformer_training_bytes(sums_model_config(s), s["data"]["batch_size"])
    return [*out, ("sums", sums)]
