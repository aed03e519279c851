"""Regenerate the drawn (not trained) figures of chapters 2.2 and 3.2.

usage (from the repository root):

    python lectures/figures/make_families_figures.py

Writes critical_path.png, receptive_field.png (chapter 2.2) and mlp_lifting.png (chapter 3.2) next
to this file, in a few seconds on a CPU. The measured figures of chapter 2.2 (families_loss.png,
families_throughput.png) come from `lmlib run three_families --figures` instead.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from lmlib.models import families  # noqa: E402
from lmlib.models.cnn import CNNLM, CNNConfig  # noqa: E402
from lmlib.runtime.files import save_figure  # noqa: E402

OUT = Path(__file__).resolve().parent
LENGTHS = [2**i for i in range(4, 14)]  # 16 .. 8192 tokens


def critical_path_figure() -> Path:
    """Sequential steps before the last token's output can exist, for a model that sees all T."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    curves = {
        "RNN, 2 layers: T + 1": [families.critical_path("rnn", T, 2) for T in LENGTHS],
        "CNN, kernel 3, no dilation": [families.layers_to_see(T, 3, 1) for T in LENGTHS],
        "CNN, kernel 3, dilations 1, 2, 4, ...": [families.layers_to_see(T) for T in LENGTHS],
        "Transformer: 1 layer sees everything": [1 for _ in LENGTHS],
    }
    for (label, steps), marker in zip(curves.items(), "osD^"):
        ax.plot(LENGTHS, steps, marker=marker, label=label)
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="sequence length T (tokens)",
        ylabel="sequential steps to connect token 1 to token T",
        title="Critical path versus sequence length",
    )
    ax.set_xticks(LENGTHS[::2], [str(T) for T in LENGTHS[::2]])
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = OUT / "critical_path.png"
    save_figure(fig, path)
    plt.close(fig)
    return path


def reach_by_layer(cfg: CNNConfig, T: int) -> torch.Tensor:
    """(L, T) bool: after layer l, which inputs can change the output at the last position."""
    torch.manual_seed(0)
    model = CNNLM(cfg)
    emb = model.tok_emb(torch.randint(0, cfg.vocab_size, (1, T))).detach().requires_grad_(True)
    rows, x = [], emb
    for block in model.blocks:
        x = block(x)
        (grad,) = torch.autograd.grad(x[0, -1].sum(), emb, retain_graph=True)
        rows.append(grad[0].abs().sum(-1) > 0)
    return torch.stack(rows)


def receptive_field_figure() -> Path:
    T = 40
    fig, axes = plt.subplots(2, 1, figsize=(8, 3.6), sharex=True)
    for ax, growth in zip(axes, (1, 2)):
        cfg = CNNConfig(vocab_size=8, context=T, d_model=8, n_layers=4, dilation_growth=growth)
        ax.imshow(reach_by_layer(cfg, T).float(), cmap="Blues", aspect="auto", vmin=0, vmax=1.2)
        ax.set_yticks(range(4), [f"layer {i + 1} (d={d})" for i, d in enumerate(cfg.dilations)])
        ax.set_title(
            f"dilations {cfg.dilations}: receptive field {cfg.receptive_field} tokens", fontsize=9
        )
    axes[-1].set_xlabel(f"input position (the output is at position {T - 1})")
    fig.suptitle("Which inputs reach the last output, layer by layer (gradient probe)", fontsize=10)
    fig.tight_layout()
    path = OUT / "receptive_field.png"
    save_figure(fig, path)
    plt.close(fig)
    return path


def lifting_figure() -> Path:
    gen = torch.Generator().manual_seed(0)
    n = 200
    angle = torch.rand(2 * n, generator=gen) * 2 * math.pi
    radius = torch.cat([torch.rand(n, generator=gen), 1.4 + torch.rand(n, generator=gen) * 0.6])
    xy = torch.stack([radius * angle.cos(), radius * angle.sin()], dim=1)
    z = (xy**2).sum(1)
    fig = plt.figure(figsize=(10, 4.2))
    ax = fig.add_subplot(1, 2, 1)
    ax3 = fig.add_subplot(1, 2, 2, projection="3d")
    for cls, color in ((0, "tab:blue"), (1, "tab:orange")):
        part = slice(cls * n, (cls + 1) * n)
        ax.scatter(xy[part, 0], xy[part, 1], s=8, color=color, label=f"class {cls}")
        ax3.scatter(xy[part, 0], xy[part, 1], z[part], s=6, color=color)
    grid = torch.linspace(-2, 2, 2)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    ax3.plot_surface(gx.numpy(), gy.numpy(), torch.full_like(gx, 1.4).numpy(), alpha=0.3)
    ax3.view_init(elev=15, azim=-60)
    ax.set(xlabel="x", ylabel="y", title="2-D: no line separates the classes", aspect="equal")
    ax.legend(loc="upper right", fontsize=8)
    ax3.set(xlabel="x", ylabel="y", zlabel="z = x² + y²", title="3-D: the plane z = 1.4 does")
    fig.tight_layout()
    path = OUT / "mlp_lifting.png"
    save_figure(fig, path)
    plt.close(fig)
    return path


if __name__ == "__main__":
    for made in (critical_path_figure(), receptive_field_figure(), lifting_figure()):
        print(f"wrote {made}")
