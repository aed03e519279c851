"""Experiment: the MLP's expansion at equal training FLOPs, each at its own learning rate, and
a probe of what attention without an MLP learns, over seeds.

Dims: E expansions, R learning rates, S seeds.

The ablation trains a character Transformer on tiny Shakespeare with no MLP and with expansion
1, 2, 4 and 8 (lmlib.experiments.labs.MLP_EXPANSIONS). Every variant gets the training FLOPs
that expansion 4 spends in `base_steps` steps, so a cheaper variant takes more steps. Each
variant trains at every rate of `lrs` with the first seed; the rate with the lowest loss on the
first half of the held-out text (validation) is then fixed, and the other seeds train at it. The
second half (test) judges the variants at the rates so picked, in every seed. A bigram count
table, fitted on the training text and scored on the test half, is the floor every variant has
to clear.

The probe trains a small Transformer with and without its MLP on triples (a, b, c) with
c = table[a, b] for a fixed random table, and scores only the predictions of c. Lab 3.2 calls
`variant`, `probe_run` and `summarize` from here. Figures: lmlib.experiments.mlp_ablation_figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
import time
from itertools import combinations
from pathlib import Path

import torch
import torch.nn.functional as F

from lmlib.data.shakespeare import CharDataset, cache_dir, tiny_shakespeare
from lmlib.experiments import labs
from lmlib.experiments.labs import MLP_EXPANSIONS
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import completed, provenance
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything, torch_threads
from lmlib.runtime.files import atomic_write
from lmlib.runtime.profiles import by_profile
from lmlib.training.train import TrainConfig, evaluate, train

LAB = "3_2_mlp"
PROBE_V, PROBE_TABLE_SEED = 6, 5  # symbols of the probe, and the seed of its fixed table
# The probe's model and optimizer: every step a fresh batch of `batch_size` sequences of
# `triples` triples (3 * triples tokens, the model's context).
PROBE = dict(vocab_size=PROBE_V, table_seed=PROBE_TABLE_SEED, batch_size=32, triples=10,
             d_model=32, n_heads=2, n_layers=2, lr=1e-2)  # fmt: skip
PROBE_EXPANSIONS = (0, 4)  # attention only, and the usual MLP
BIGRAM_ALPHA = 1.0  # add-one smoothing of the bigram counts


def settings(profile: str) -> dict:
    """The experiment's sizes: `base_steps` at expansion 4 sets every variant's FLOPs; each
    variant sweeps the rates of `lrs` with the first seed; `jobs` processes of one thread."""
    return by_profile(
        ci=dict(sizes=dict(d_model=16, n_layers=1, context=16, batch_size=4, base_steps=4),
                lrs=[2.5e-3, 5e-3, 1e-2], seeds=[0, 1], probe_steps=6, eval_batches=1, jobs=1),
        cpu=dict(sizes=dict(d_model=64, n_layers=2, context=64, batch_size=16, base_steps=1200),
                 lrs=[2.5e-3, 5e-3, 1e-2, 2e-2], seeds=[0, 1, 2], probe_steps=400, eval_batches=20,
                 jobs=2),
        # about 10 minutes of a T4 at lmlib.tools.budget.T4_ACHIEVED_FLOPS (tested)
        gpu=dict(sizes=dict(d_model=128, n_layers=4, context=128, batch_size=64, base_steps=2050),
                 lrs=[2.5e-3, 5e-3, 1e-2], seeds=[0, 1, 2], probe_steps=400, eval_batches=20,
                 jobs=1),
        profile=profile,
    )  # fmt: skip


def lab_settings(profile: str) -> dict:
    """Lab 3.2's smaller version (lmlib.experiments.labs): one rate, fewer steps."""
    return labs.settings(LAB, profile)


def config(sizes: dict, vocab_size: int, expansion: float) -> TransformerConfig:
    """The ablation's model at one expansion (0: no MLP)."""
    return TransformerConfig(
        vocab_size,
        context=sizes["context"],
        d_model=sizes["d_model"],
        n_heads=4,
        n_layers=sizes["n_layers"],
        expansion=expansion,
    )


def ablation_steps(sizes: dict, vocab_size: int) -> dict[float, int]:
    """Steps per expansion at equal FLOPs: base_steps * flops(4) / flops(e), rounded."""
    flops = {
        e: TransformerLM(config(sizes, vocab_size, e)).flops_per_token()
        for e in {4, *MLP_EXPANSIONS}
    }
    budget = sizes["base_steps"] * flops[4]  # FLOPs per token x steps, the same for every variant
    return {e: max(1, round(budget / flops[e])) for e in MLP_EXPANSIONS}


def planned_flops(s: dict, vocab_size: int) -> float:
    """Training FLOPs of the whole ablation: every variant at every rate with the first seed,
    and at its picked rate with each other seed."""
    sizes = s["sizes"]
    fpt = TransformerLM(config(sizes, vocab_size, 4)).flops_per_token()
    per_run = sizes["base_steps"] * sizes["batch_size"] * sizes["context"] * fpt
    return per_run * len(MLP_EXPANSIONS) * (len(s["lrs"]) + len(s["seeds"]) - 1)


def held_out_halves(data: CharDataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The held-out text cut in two: (validation, test)."""
    half = len(data.val) // 2
    return data.val[:half], data.val[half:]


def bigram_loss(train_ids: torch.Tensor, test_ids: torch.Tensor, vocab_size: int) -> float:
    """Nats per character on `test_ids` of a bigram count table fitted on `train_ids`."""
    counts = torch.full((vocab_size, vocab_size), BIGRAM_ALPHA, dtype=torch.float64)
    counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1,
                      dtype=torch.float64), accumulate=True)  # fmt: skip
    logp = (counts / counts.sum(1, keepdim=True)).log()  # (V, V): row = previous character
    return -logp[test_ids[:-1], test_ids[1:]].mean().item()


def variant(
    data: CharDataset,
    sizes: dict,
    eval_batches: int,
    expansion: float,
    steps: int,
    seed: int,
    lr: float = 3e-3,
) -> dict:
    """Train one variant from fresh weights; its size, final loss on the validation and the test
    half, and seconds: wall seconds of the training steps, CPU seconds of the whole call."""
    cpu_start = time.process_time()
    seed_everything(seed)
    model = TransformerLM(config(sizes, data.tokenizer.vocab_size, expansion))
    val, test = held_out_halves(data)
    run = TrainConfig(steps=steps, batch_size=sizes["batch_size"], lr=lr,
                      warmup_steps=max(1, steps // 10), eval_every=steps,
                      eval_batches=eval_batches, seed=seed, progress=False)  # fmt: skip
    h = completed(train(model, data.train, val, run))
    test_loss = evaluate(model, test, sizes["batch_size"], eval_batches, seed + 2)
    return {"expansion": expansion, "seed": seed, "lr": lr, "steps": steps,
            "params": model.num_params(), "val_loss": h.val_loss[-1], "test_loss": test_loss,
            "train_s": h.train_time[-1], "cpu_s": time.process_time() - cpu_start}  # fmt: skip


def _cached_variant(profile: str, expansion: float, steps: int, lr: float, seed: int) -> dict:
    """`variant` at `profile`, kept on disk under a hash of its inputs, so that a stopped
    experiment resumes with the runs it has not finished."""
    s = settings(profile)
    key = json.dumps([s["sizes"], s["eval_batches"], expansion, steps, lr, seed], sort_keys=True)
    path = cache_dir() / "mlp_ablation" / f"{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"
    if path.exists():
        return json.loads(path.read_text())
    with torch_threads(1 if pick_device(None).type == "cpu" else None):
        r = variant(tiny_shakespeare(), s["sizes"], s["eval_batches"], expansion, steps, seed, lr)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, "w") as f:
        json.dump(r, f)
    return r


def probe_table() -> torch.Tensor:
    """(V, V): the fixed random table, c = table[a, b]."""
    gen = torch.Generator().manual_seed(PROBE_TABLE_SEED)
    return torch.randint(0, PROBE_V, (PROBE_V, PROBE_V), generator=gen)


def triples(table: torch.Tensor, batch_size: int, n: int, gen: torch.Generator) -> torch.Tensor:
    """(B, 3n) sequences a b c a b c ... with c = table[a, b]."""
    a = torch.randint(0, PROBE_V, (batch_size, n), generator=gen)
    b = torch.randint(0, PROBE_V, (batch_size, n), generator=gen)
    return torch.stack([a, b, table[a, b]], dim=-1).flatten(1)


def probe(expansion: float, steps: int, seed: int = 0) -> list[float]:
    """Train a 2-layer Transformer on fresh triples each step; the loss on the c positions (nats)
    at every step."""
    table = probe_table()
    torch.manual_seed(seed)
    n = PROBE["triples"]
    cfg = TransformerConfig(PROBE_V, context=3 * n, d_model=PROBE["d_model"],
                            n_heads=PROBE["n_heads"], n_layers=PROBE["n_layers"],
                            expansion=expansion)  # fmt: skip
    model = TransformerLM(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=PROBE["lr"])
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        idx = triples(table, PROBE["batch_size"], n, gen)  # (B, 3n)
        per_token = F.cross_entropy(model(idx[:, :-1]).transpose(1, 2), idx[:, 1:],
                                    reduction="none")  # fmt: skip
        loss = per_token[:, 1::3].mean()  # position 3i + 1 predicts c_i
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def probe_run(expansion: float, steps: int, seed: int) -> dict:
    """The probe's curve, with the loss on c after half the steps and at the end."""
    with torch_threads(1):
        losses = probe(expansion, steps, seed)
    return {"expansion": expansion, "seed": seed, "steps": steps, "losses": losses,
            "half_step": steps // 2, "half": losses[steps // 2 - 1], "end": losses[-1]}  # fmt: skip


def _pick_rates(runs: list[dict]) -> dict:
    """Per expansion: the validation loss at each rate with the first seed (the sweep), and the
    rate with the lowest."""
    first = min(r["seed"] for r in runs)
    out = {}
    for e in sorted({r["expansion"] for r in runs}):
        by_lr = {r["lr"]: r["val_loss"] for r in runs if r["expansion"] == e and r["seed"] == first}
        out[e] = (min(by_lr, key=by_lr.get), dict(sorted(by_lr.items())))
    return out


def summarize(runs: list[dict], probes: list[dict]) -> dict:
    """Rates picked on validation; then, on the test half at those rates: losses by seed, median,
    spread, the lowest expansion per seed, every pair's count of seeds, and the order of the
    medians with the seeds that agree with each step of it; the probe, seed by seed."""
    seeds = sorted({r["seed"] for r in runs})
    picked = _pick_rates(runs)
    expansions = sorted(picked)
    at_rate = [r for r in runs if r["lr"] == picked[r["expansion"]][0]]
    loss = {e: {r["seed"]: r["test_loss"] for r in at_rate if r["expansion"] == e}
            for e in expansions}  # fmt: skip
    per_expansion = {
        str(e): {
            "lr": picked[e][0],
            "val_by_lr": {f"{lr:g}": v for lr, v in picked[e][1].items()},
            "loss": [loss[e][s] for s in seeds],
            "median": statistics.median(loss[e].values()),
            "spread": max(loss[e].values()) - min(loss[e].values()),
        }
        for e in expansions
    }
    lowest = {str(s): min(expansions, key=lambda e: loss[e][s]) for s in seeds}
    median = {e: per_expansion[str(e)]["median"] for e in expansions}
    order = sorted(expansions, key=median.get)
    lower_in = {f"{a}<{b}": sum(loss[a][s] < loss[b][s] for s in seeds)
                for a, b in combinations(expansions, 2)}  # fmt: skip
    lower_in.update({f"{b}<{a}": len(seeds) - lower_in[f"{a}<{b}"]
                     for a, b in combinations(expansions, 2)})  # fmt: skip
    gaps = {
        str(e): {
            "median_gap": median[e] - median[order[0]],
            "spread": max(per_expansion[str(e)]["spread"], per_expansion[str(order[0])]["spread"]),
            "best_lower_in": lower_in[f"{order[0]}<{e}"],
        }
        for e in order[1:]
    }
    for g in gaps.values():
        g["exceeds_spread"] = g["median_gap"] > g["spread"]
    by = {(p["expansion"], p["seed"]): p for p in probes}
    attn, mlp = PROBE_EXPANSIONS
    probe_summary = {
        at: {
            "attention_only": [by[attn, s][at] for s in seeds],
            "mlp": [by[mlp, s][at] for s in seeds],
            "mlp_lower_in": sum(by[mlp, s][at] < by[attn, s][at] for s in seeds),
        }
        for at in ("half", "end")
    }
    return {
        "seeds": seeds,
        "per_expansion": per_expansion,
        "lowest_per_seed": lowest,
        "lowest_count": {str(e): list(lowest.values()).count(e) for e in expansions},
        "best_median": order[0],
        "order_by_median": order,
        "order_steps": [lower_in[f"{a}<{b}"] for a, b in zip(order, order[1:])],
        "lower_in": lower_in,
        "gaps_to_best": gaps,
        "probe": probe_summary,
    }


def run(profile: str, seed: int = 0) -> dict:
    """The rate sweep with the first seed, the other seeds at the picked rates (`jobs`
    processes), the probe, the bigram floor."""
    s = settings(profile)
    seeds = [seed + k for k in s["seeds"]]
    data = tiny_shakespeare()
    V = data.tokenizer.vocab_size
    steps = ablation_steps(s["sizes"], V)
    sweep = [(profile, e, steps[e], lr, seeds[0]) for e in MLP_EXPANSIONS for lr in s["lrs"]]
    runs = map_spawned(_cached_variant, sweep, s["jobs"])
    picked = {e: lr for e, (lr, _) in _pick_rates(runs).items()}
    rest = [(profile, e, steps[e], picked[e], sd) for e in MLP_EXPANSIONS for sd in seeds[1:]]
    runs += map_spawned(_cached_variant, rest, s["jobs"])
    probes = map_spawned(probe_run, [(e, s["probe_steps"], sd) for e in PROBE_EXPANSIONS
                                     for sd in seeds], s["jobs"])  # fmt: skip
    bigram = bigram_loss(data.train, held_out_halves(data)[1], V)
    summary = summarize(runs, probes)
    return {
        "experiment": "mlp_ablation",
        "profile": profile,
        "seed": seed,
        "seeds": seeds,
        "settings": s,
        "expansions": list(MLP_EXPANSIONS),
        "steps": {str(e): n for e, n in steps.items()},
        "train_flops": planned_flops(s, V),
        "probe_settings": PROBE,
        "bigram_test_loss": bigram,
        "uniform_loss": math.log(V),
        "runs": runs,
        "probes": probes,
        "summary": summary,
        "runs_cpu_s": sum(r["cpu_s"] for r in runs),  # in the worker processes, cached runs too
        **provenance(pick_device(None)),
    }


def figures(r: dict, outdir: Path) -> list[Path]:
    from lmlib.experiments.mlp_ablation_figures import draw_all

    return draw_all(r, outdir)
