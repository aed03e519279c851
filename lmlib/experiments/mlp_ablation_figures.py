"""Figures of the MLP ablation (lmlib.experiments.mlp_ablation): the test loss per expansion at
its picked rate against the bigram floor, the rate sweep, and the probe's curves."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from lmlib.runtime.files import save_figure


def _label(e: float) -> str:
    return str(e) if e else "none"


def ablation_figure(runs: list[dict], title: str, rates: dict, bigram: float | None = None):
    """Test loss and CPU seconds against the expansion at the rates picked (expansion -> rate,
    as in the summary): every seed, and the median; the bigram table's loss as a floor."""
    import matplotlib.pyplot as plt

    rates = {float(e): lr for e, lr in rates.items()}
    runs = [r for r in runs if r["lr"] == rates[r["expansion"]]]
    expansions = sorted({r["expansion"] for r in runs})
    seeds = sorted({r["seed"] for r in runs})
    x = {e: i for i, e in enumerate(expansions)}
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, key in zip(axes, ("test_loss", "cpu_s")):
        for s in seeds:
            mine = sorted((r for r in runs if r["seed"] == s), key=lambda r: r["expansion"])
            ax.plot([x[r["expansion"]] for r in mine], [r[key] for r in mine], "o-", lw=0.8,
                    alpha=0.6, label=f"seed {s}")  # fmt: skip
        medians = [statistics.median(r[key] for r in runs if r["expansion"] == e)
                   for e in expansions]  # fmt: skip
        ax.plot(range(len(expansions)), medians, "k_", ms=22, mew=2, label="median")
        ax.set_xticks(range(len(expansions)),
                      [f"{_label(e)}\nlr {rates[e]:g}" for e in expansions])  # fmt: skip
        ax.set_xlabel("MLP expansion F / D (none: attention only), and its picked rate")
    if bigram is not None:
        axes[0].axhline(bigram, color="gray", ls="--", label=f"bigram table, {bigram:.2f}")
    axes[0].set_ylabel("test loss (nats per character)")
    axes[1].set_ylabel("CPU time of the run (s)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def rate_figure(per_expansion: dict, title: str):
    """The sweep's validation loss against the learning rate, one line per expansion, a star at
    the picked rate (per_expansion: the summary's, with val_by_lr and lr)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for e, pe in sorted(per_expansion.items(), key=lambda kv: float(kv[0])):
        by_lr = {float(lr): v for lr, v in pe["val_by_lr"].items()}
        rates = sorted(by_lr)
        label = f"expansion {_label(float(e))}"
        (line,) = ax.plot(rates, [by_lr[lr] for lr in rates], "o-", label=label)
        ax.plot([pe["lr"]], [by_lr[pe["lr"]]], "*", ms=14, color=line.get_color())
    ax.set(xscale="log", xlabel="peak learning rate", title=title,
           ylabel="validation loss, first seed (nats/char)")  # fmt: skip
    ax.legend(fontsize=8, title="star: the picked rate", title_fontsize=8)
    fig.tight_layout()
    return fig


def probe_figure(probes: list[dict], title: str, vocab_size: int):
    """The loss on c at every step, one curve per seed and expansion; the uniform guess among
    `vocab_size` symbols."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    for p in probes:
        name = "attention only (no MLP)" if p["expansion"] == 0 else f"expansion {p['expansion']}"
        ax.plot(range(1, len(p["losses"]) + 1), p["losses"], lw=0.9, alpha=0.8,
                color="tab:blue" if p["expansion"] == 0 else "tab:orange",
                ls=("-", "--", ":", "-.")[p["seed"] % 4],
                label=f"{name}, seed {p['seed']}")  # fmt: skip
    v = vocab_size
    ax.axhline(math.log(v), color="gray", ls="--", label=f"uniform guess, ln {v}")
    ax.set(xlabel="training step", ylabel="loss on c = table[a, b] (nats)", title=title)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def draw_all(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    n, profile = len(r["seeds"]), r["profile"]
    pe = r["summary"]["per_expansion"]
    paths = []
    for name, fig in (
        ("mlp_ablation.png", ablation_figure(
            r["runs"], f"Equal training FLOPs, {n} seeds, {profile} profile",
            {e: x["lr"] for e, x in pe.items()}, r["bigram_test_loss"])),
        ("mlp_rates.png", rate_figure(pe, f"Picking each variant's rate, {profile} profile")),
        ("mlp_probe.png", probe_figure(
            r["probes"], f"Learning c = table[a, b], {n} seeds, {profile} profile",
            r["probe_settings"]["vocab_size"])),
    ):  # fmt: skip
        save_figure(fig, outdir / name)
        plt.close(fig)
        paths.append(outdir / name)
    return paths
