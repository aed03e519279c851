"""Regenerate the figures of the chapter "Multi-head attention is chunking".

usage (from the repository root; needs tiny Shakespeare, see lmlib.data.shakespeare):

    LMLIB_DATA_DIR=/path/to/data python lectures/figures/make_attention_figures.py

Writes mha_fused_qkv.png, mha_chunking.png and mha_causal_pattern.png next to this file.
Everything is seeded and runs on the CPU, so the same lmlib gives the same pictures. It trains a
small TransformerLM for a few hundred steps (about a minute on two cores) so that the weight
matrix and the attention pattern shown are those of a model that has learned something.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from einops import rearrange  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402

import lmlib  # noqa: E402
from lmlib.runtime.files import save_figure  # noqa: E402

OUT = Path(__file__).resolve().parent
PART_COLORS = {"q": "tab:blue", "k": "tab:orange", "v": "tab:green"}
SAMPLE = "First Citizen:\nBefore we proceed any further"


def show_char(c: str) -> str:
    return {"\n": "\\n", " ": "␣"}.get(c, c)


def train_small_model() -> tuple[lmlib.TransformerLM, lmlib.CharDataset]:
    lmlib.seed_everything(0)
    data = lmlib.tiny_shakespeare()
    cfg = lmlib.TransformerConfig(
        vocab_size=data.tokenizer.vocab_size, context=64, d_model=64, n_heads=4, n_layers=2
    )
    model = lmlib.TransformerLM(cfg)
    run = lmlib.TrainConfig(
        steps=300,
        batch_size=32,
        lr=3e-3,
        warmup_steps=30,
        eval_every=300,
        eval_batches=5,
        device="cpu",
        progress=False,
    )
    history = lmlib.train(model, data.train, data.val, run)
    print(f"trained {cfg}: val loss {history.val_loss[-1]:.3f} nats/char")
    return model.eval(), data


def fused_qkv_figure(model: lmlib.TransformerLM) -> None:
    """The (D, 3D) weight of the first block, with its q | k | v parts and heads marked."""
    attn = model.blocks[0].attn
    D, H = attn.d_model, attn.n_heads
    K = D // H
    W = attn.qkv.weight.detach().T.numpy()  # (D, 3D): y = x @ W (+ bias)
    lim = float(np.abs(W).max())
    fig, ax = plt.subplots(figsize=(9.0, 3.6))
    im = ax.imshow(W, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
    for j in range(1, 3 * H):
        major = j % H == 0
        ax.axvline(j * K - 0.5, color="black", lw=2.2 if major else 0.6, ls="-" if major else "--")
    for p, part in enumerate("qkv"):
        ax.text(
            (p + 0.5) * D - 0.5,
            -6.5,
            part,
            ha="center",
            va="bottom",
            fontsize=13,
            color=PART_COLORS[part],
            fontweight="bold",
            bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
        )
        for h in range(H):
            ax.text(
                p * D + (h + 0.5) * K - 0.5, -1, f"head {h}", ha="center", va="bottom", fontsize=7
            )
    ax.set_ylim(D - 0.5, -12)
    ax.set_yticks(range(0, D, 16))
    ax.set_xticks(range(0, 3 * D + 1, K))
    ax.set_xlabel(
        f"output column (3D = {3 * D}): [q of all heads | k of all heads | v of all heads]"
    )
    ax.set_ylabel(f"input dimension (D = {D})")
    ax.set_title(
        f"One weight matrix, chunked twice: block 0 of a trained model, D={D}, H={H}, K={K}",
        fontsize=10,
        pad=4,
    )
    fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01, label="weight")
    fig.tight_layout()
    save_figure(fig, OUT / "mha_fused_qkv.png")
    plt.close(fig)


def chunking_figure(D: int = 12, H: int = 3) -> None:
    """Where each of the 3D numbers one token's projection produces ends up, by lmlib's patterns."""
    K = D // H
    qkv = torch.arange(3 * D).reshape(1, 1, 3 * D)  # stand-in for qkv(x) of one token
    q, k, v = rearrange(qkv, "b t (three h k) -> three b h t k", three=3, h=H)  # as in lmlib
    for part, chunk in zip(
        (q, k, v), qkv.chunk(3, dim=-1), strict=True
    ):  # same as: split in 3, then heads
        assert torch.equal(part, lmlib.split_heads(chunk, H))
        assert torch.equal(lmlib.merge_heads(part), chunk)

    shades = {
        part: [matplotlib.colors.to_rgba(PART_COLORS[part], alpha) for alpha in (0.9, 0.55, 0.25)]
        for part in "qkv"
    }
    colors = [shades[part][h % 3] for part in "qkv" for h in range(H)]
    cmap = ListedColormap(colors)
    group = np.repeat(np.arange(3 * H), K)  # column j of the row belongs to (part, head) group[j]

    fig = plt.figure(figsize=(9.0, 4.2))
    top = fig.add_axes([0.04, 0.74, 0.92, 0.12])
    top.imshow(group[None, :], cmap=cmap, vmin=-0.5, vmax=3 * H - 0.5, aspect="auto")
    for j in range(3 * D):
        top.text(j, 0, str(j), ha="center", va="center", fontsize=7)
    top.set_xticks([])
    top.set_yticks([])
    top.set_title(
        f"qkv(x) for one token: 3D = {3 * D} numbers (D = {D}, H = {H} heads, K = {K})",
        fontsize=10,
    )
    for p, (name, part) in enumerate(zip("qkv", (q, k, v), strict=True)):
        ax = fig.add_axes([0.08 + p * 0.32, 0.1, 0.24, 0.48])
        idx = part[0, :, 0, :].numpy()  # (H, K): the original positions that head h receives
        ax.imshow(group[idx], cmap=cmap, vmin=-0.5, vmax=3 * H - 0.5, aspect="auto")
        for h in range(H):
            for c in range(K):
                ax.text(c, h, str(idx[h, c]), ha="center", va="center", fontsize=8)
        ax.set_yticks(range(H), [f"head {h}" for h in range(H)], fontsize=8)
        ax.set_xticks(range(K), [str(c) for c in range(K)], fontsize=7)
        ax.set_xlabel(f"position inside the head (0..K-1 = 0..{K - 1})", fontsize=8)
        ax.set_title(f"{name}: (H, K) = ({H}, {K})", fontsize=10, color=PART_COLORS[name])
    fig.text(
        0.5,
        0.655,
        '"b t (three h k) -> three b h t k": cut into q | k | v, then each into heads',
        ha="center",
        fontsize=9,
        family="monospace",
    )
    save_figure(fig, OUT / "mha_chunking.png")
    plt.close(fig)


@torch.no_grad()
def causal_pattern_figure(model: lmlib.TransformerLM, data: lmlib.CharDataset) -> None:
    """The causal mask beside the heads with the shortest and longest mean look-back."""
    ids = data.tokenizer.encode(SAMPLE)[None, :]  # (1, T)
    T = ids.shape[1]
    for block in model.blocks:
        block.attn.keep_weights = True
    model(ids)
    weights = torch.stack([b.attn.last_weights[0] for b in model.blocks])  # (L, H, T, T)
    for block in model.blocks:
        block.attn.keep_weights = False
    t = torch.arange(T)
    lookback = (weights * (t[:, None] - t[None, :])).sum(-1).mean(-1)  # (L, H)
    H = lookback.shape[1]
    chars = [show_char(c) for c in SAMPLE]

    fig, axes = plt.subplots(1, 3, figsize=(15.0, 5.4))
    mask = lmlib.causal_mask(T).numpy()
    axes[0].imshow(mask, cmap=ListedColormap(["white", "tab:blue"]), interpolation="nearest")
    axes[0].set_title("causal_mask(T): blue = may attend (s <= t)", fontsize=10)
    picks = {"shortest": lookback.argmin(), "longest": lookback.argmax()}
    for ax, (which, flat) in zip(axes[1:], picks.items(), strict=True):
        layer, head = divmod(int(flat), H)
        im = ax.imshow(
            weights[layer, head].numpy(), cmap="viridis", vmin=0, vmax=1, interpolation="nearest"
        )
        ax.set_title(
            f"layer {layer}, head {head}: {which} look-back ({lookback[layer, head]:.1f} chars)",
            fontsize=10,
        )
    fig.colorbar(
        im, ax=axes[1:], fraction=0.025, pad=0.02, label="attention weight (rows sum to 1)"
    )
    for ax in axes:
        ax.set_xticks(range(T), chars, fontsize=6, family="monospace")
        ax.set_yticks(range(T), chars, fontsize=6, family="monospace")
        ax.set_xlabel("key position s (the character looked at)")
    axes[0].set_ylabel("query position t (the character looking)")
    save_figure(fig, OUT / "mha_causal_pattern.png", bbox_inches="tight")
    plt.close(fig)


def main() -> None:
    chunking_figure()
    model, data = train_small_model()
    fused_qkv_figure(model)
    causal_pattern_figure(model, data)
    for name in ("mha_fused_qkv.png", "mha_chunking.png", "mha_causal_pattern.png"):
        print(f"wrote {OUT / name} ({(OUT / name).stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
