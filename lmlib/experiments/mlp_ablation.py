"""Experiment: lab 3.2's MLP ablation at equal training FLOPs, and its probe, over seeds.

Dims: E expansions, S seeds.

The ablation trains lab 3.2's character Transformer on tiny Shakespeare with no MLP and with
expansion 1, 2, 4 and 8 (lmlib.experiments.labs.MLP_EXPANSIONS). Every variant gets the training
FLOPs that expansion 4 spends in `base_steps` steps, so a cheaper variant takes more steps. The
probe trains a small Transformer with and without its MLP on triples (a, b, c) with
c = table[a, b] for a fixed random table, and scores only the predictions of c. The lab calls
`variant` and `probe` from here, so at the same profile it prints the numbers of this experiment.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from lmlib.data.shakespeare import CharDataset, tiny_shakespeare
from lmlib.experiments import labs
from lmlib.experiments.labs import MLP_EXPANSIONS
from lmlib.experiments.results import completed, provenance
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything, torch_threads
from lmlib.runtime.files import save_figure
from lmlib.training.train import TrainConfig, train

LAB = "3_2_mlp"
PROBE_V, PROBE_TABLE_SEED = 6, 5  # symbols of the probe, and the seed of its fixed table
# The probe's model and optimizer: every step a fresh batch of `batch_size` sequences of
# `triples` triples (3 * triples tokens, the model's context).
PROBE = dict(vocab_size=PROBE_V, table_seed=PROBE_TABLE_SEED, batch_size=32, triples=10,
             d_model=32, n_heads=2, n_layers=2, lr=1e-2)  # fmt: skip
PROBE_EXPANSIONS = (0, 4)  # attention only, and the usual MLP


def settings(profile: str) -> dict:
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


def variant(
    data: CharDataset, sizes: dict, eval_batches: int, expansion: float, steps: int, seed: int
) -> dict:
    """Train one variant from fresh weights; its size, final validation loss and seconds: wall
    seconds of the training steps, and CPU seconds of the whole call (which other load on the
    machine does not inflate, as long as it runs on one thread)."""
    cpu_start = time.process_time()
    seed_everything(seed)
    model = TransformerLM(config(sizes, data.tokenizer.vocab_size, expansion))
    run = TrainConfig(steps=steps, batch_size=sizes["batch_size"], lr=3e-3,
                      warmup_steps=max(1, steps // 10), eval_every=steps,
                      eval_batches=eval_batches, seed=seed, progress=False)  # fmt: skip
    h = completed(train(model, data.train, data.val, run))
    return {"expansion": expansion, "seed": seed, "steps": steps, "params": model.num_params(),
            "val_loss": h.val_loss[-1], "train_s": h.train_time[-1],
            "cpu_s": time.process_time() - cpu_start}  # fmt: skip


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
    losses = probe(expansion, steps, seed)
    return {"expansion": expansion, "seed": seed, "steps": steps, "losses": losses,
            "half_step": steps // 2, "half": losses[steps // 2 - 1], "end": losses[-1]}  # fmt: skip


def summarize(runs: list[dict], probes: list[dict]) -> dict:
    """Per expansion: losses by seed, median, spread; per seed: the lowest expansion; the probe's
    attention-only against MLP losses at half and at the end, seed by seed."""
    seeds = sorted({r["seed"] for r in runs})
    expansions = sorted({r["expansion"] for r in runs})
    loss = {e: {r["seed"]: r["val_loss"] for r in runs if r["expansion"] == e} for e in expansions}
    per_expansion = {
        str(e): {
            "loss": [loss[e][s] for s in seeds],
            "median": statistics.median(loss[e].values()),
            "spread": max(loss[e].values()) - min(loss[e].values()),
        }
        for e in expansions
    }
    lowest = {str(s): min(expansions, key=lambda e: loss[e][s]) for s in seeds}
    best = min(expansions, key=lambda e: per_expansion[str(e)]["median"])
    gaps = {}
    for e in expansions:
        if e == best:
            continue
        gap = per_expansion[str(e)]["median"] - per_expansion[str(best)]["median"]
        spread = max(per_expansion[str(e)]["spread"], per_expansion[str(best)]["spread"])
        gaps[str(e)] = {
            "median_gap": gap,
            "spread": spread,
            "exceeds_spread": gap > spread,
            "best_lower_in": sum(loss[best][s] < loss[e][s] for s in seeds),
        }
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
        "best_median": best,
        "gaps_to_best": gaps,
        "probe": probe_summary,
    }


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    sizes, seeds = s["sizes"], [seed + k for k in s["sizes"]["seeds"]]
    device = pick_device(None)
    with torch_threads(1 if device.type == "cpu" else None):  # small matrices, as in the lab
        data = tiny_shakespeare()
        steps = ablation_steps(sizes, data.tokenizer.vocab_size)
        runs = [variant(data, sizes, s["eval_batches"], e, steps[e], sd)
                for e in MLP_EXPANSIONS for sd in seeds]  # fmt: skip
        probes = [probe_run(e, s["probe_steps"], sd) for e in PROBE_EXPANSIONS for sd in seeds]
        return {
            "experiment": "mlp_ablation",
            "profile": profile,
            "seed": seed,
            "seeds": seeds,
            "settings": s,
            "expansions": list(MLP_EXPANSIONS),
            "steps": {str(e): n for e, n in steps.items()},
            "probe_settings": PROBE,
            "runs": runs,
            "probes": probes,
            "summary": summarize(runs, probes),
            **provenance(device),
        }


def _label(e: float) -> str:
    return str(e) if e else "none"


def ablation_figure(runs: list[dict], title: str):
    """Validation loss and CPU seconds against the expansion: every seed, and the median."""
    import matplotlib.pyplot as plt

    expansions = sorted({r["expansion"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    x = {e: i for i, e in enumerate(expansions)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, key in zip(axes, ("val_loss", "cpu_s")):
        for s in seeds:
            mine = sorted((r for r in runs if r["seed"] == s), key=lambda r: r["expansion"])
            ax.plot([x[r["expansion"]] for r in mine], [r[key] for r in mine], "o-", lw=0.8,
                    alpha=0.6, label=f"seed {s}")  # fmt: skip
        medians = [statistics.median(r[key] for r in runs if r["expansion"] == e)
                   for e in expansions]  # fmt: skip
        ax.plot(range(len(expansions)), medians, "k_", ms=22, mew=2, label="median")
        ax.set_xticks(range(len(expansions)), [_label(e) for e in expansions])
        ax.set_xlabel("MLP expansion F / D (none: attention only)")
    axes[0].set_ylabel("validation loss (nats per character)")
    axes[1].set_ylabel("CPU time of the run (s)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def probe_figure(probes: list[dict], title: str):
    """The loss on c at every step, one curve per seed and expansion."""
    import math

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    colors = {PROBE_EXPANSIONS[0]: "tab:blue", PROBE_EXPANSIONS[1]: "tab:orange"}
    for p in probes:
        name = "attention only (no MLP)" if p["expansion"] == 0 else f"expansion {p['expansion']}"
        ax.plot(range(1, len(p["losses"]) + 1), p["losses"], lw=0.9, alpha=0.8,
                color=colors.get(p["expansion"]), ls=("-", "--", ":", "-.")[p["seed"] % 4],
                label=f"{name}, seed {p['seed']}")  # fmt: skip
    ax.axhline(math.log(PROBE_V), color="gray", ls="--", label=f"uniform guess, ln {PROBE_V}")
    ax.set(xlabel="training step", ylabel="loss on c = table[a, b] (nats)", title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    n = len(r["seeds"])
    paths = []
    for name, fig in (
        ("mlp_ablation.png", ablation_figure(
            r["runs"], f"Equal training FLOPs, {n} seeds, {r['profile']} profile")),
        ("mlp_probe.png", probe_figure(
            r["probes"], f"Learning c = table[a, b], {n} seeds, {r['profile']} profile")),
    ):  # fmt: skip
        save_figure(fig, outdir / name)
        plt.close(fig)
        paths.append(outdir / name)
    return paths
