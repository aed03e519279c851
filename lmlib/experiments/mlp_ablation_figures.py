"""Figures of the MLP ablation (lmlib.experiments.mlp_ablation): the test loss per expansion at
its picked rate against the bigram floor, the rate sweep, and the probe's curves."""

from __future__ import annotations

import math
import statistics
from pathlib import Path

from lmlib.runtime.files import save_figure


def _label(e: float) -> str:
    return str(e) if e else "none"


def ablation_figure(runs: list[dict], title: str, bigram: float | None = None):
    """Test loss (at each variant's picked rate) and CPU seconds against the expansion: every
    seed, and the median; the bigram table's loss as a floor where given."""
    import matplotlib.pyplot as plt

    from lmlib.experiments.mlp_ablation import _pick_rates

    picked = _pick_rates(runs)
    runs = [r for r in runs if r["lr"] == picked[r["expansion"]][0]]
    expansions = sorted(picked)
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
                      [f"{_label(e)}\nlr {picked[e][0]:g}" for e in expansions])  # fmt: skip
        ax.set_xlabel("MLP expansion F / D (none: attention only), and its picked rate")
    if bigram is not None:
        axes[0].axhline(bigram, color="gray", ls="--", label=f"bigram table, {bigram:.2f}")
    axes[0].set_ylabel("test loss (nats per character)")
    axes[1].set_ylabel("CPU time of the run (s)")
    axes[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def rate_figure(runs: list[dict], title: str):
    """Mean validation loss over seeds against the learning rate, one line per expansion."""
    import matplotlib.pyplot as plt

    from lmlib.experiments.mlp_ablation import _pick_rates

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for e, (best, by_lr) in _pick_rates(runs).items():
        rates = sorted(by_lr)
        (line,) = ax.plot(rates, [by_lr[lr] for lr in rates], "o-", label=f"expansion {_label(e)}")
        ax.plot([best], [by_lr[best]], "*", ms=14, color=line.get_color())
    ax.set(xscale="log", xlabel="peak learning rate", title=title,
           ylabel="validation loss, mean over seeds (nats/char)")  # fmt: skip
    ax.legend(fontsize=8, title="star: the picked rate", title_fontsize=8)
    fig.tight_layout()
    return fig


def probe_figure(probes: list[dict], title: str):
    """The loss on c at every step, one curve per seed and expansion."""
    import matplotlib.pyplot as plt

    from lmlib.experiments.mlp_ablation import PROBE_EXPANSIONS, PROBE_V

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


def draw_all(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    n, profile = len(r["seeds"]), r["profile"]
    paths = []
    for name, fig in (
        ("mlp_ablation.png", ablation_figure(
            r["runs"], f"Equal training FLOPs, {n} seeds, {profile} profile",
            r["bigram_test_loss"])),
        ("mlp_rates.png", rate_figure(r["runs"], f"Picking each variant's rate, {profile}")),
        ("mlp_probe.png", probe_figure(
            r["probes"], f"Learning c = table[a, b], {n} seeds, {profile} profile")),
    ):  # fmt: skip
        save_figure(fig, outdir / name)
        plt.close(fig)
        paths.append(outdir / name)
    return paths
