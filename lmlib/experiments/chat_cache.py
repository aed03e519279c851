"""Experiment: what a ten-turn chat costs when causal attention caches the history, and when
bidirectional attention over the history (a prefix LM) must read it again every turn.

Each turn a user message of `user` tokens arrives and the model writes a reply of `reply`
tokens, one at a time, reading each written token back. With causal attention the KV cache keeps
every earlier token's keys and values, which later tokens cannot change, so a turn reads only its
own user + reply tokens. In a prefix LM the history and the new message form one bidirectional
prefix: a new token changes how every earlier one is represented, so each turn encodes the whole
prefix from scratch and then writes its reply causally, with a cache inside the turn.

FLOPs are counted analytically, matmuls as computed: a pass of T new tokens over S visible keys
costs 2 T W + 4 L T S D, with W the matmul weights. They are checked against
torch.utils.flop_counter on the plain attention path (keep_weights), since the counter does not
see the fused CPU kernel. Wall times use the fused path: the median over interleaved repeats of
each whole conversation, on one CPU thread (small matrices; a second thread mostly waits).
"""

from __future__ import annotations

import math
import statistics
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from lmlib.experiments.results import provenance
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import seed_everything, torch_threads
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile

MODES = ("causal", "prefix")  # causal + KV cache; bidirectional prefix re-encoded every turn


def settings(profile: str) -> dict:
    """Conversation and model sizes. A reply is three times as long as the message it answers
    (our assumption: assistants answer at length); the context holds the whole conversation.
    FlopCounterMode checks the first `checked` turns (it slows each pass about tenfold)."""
    return by_profile(
        ci=dict(
            turns=10, user=2, reply=6, d_model=16, n_layers=1, n_heads=2, repeats=1, checked=10
        ),
        cpu=dict(
            turns=10, user=50, reply=150, d_model=128, n_layers=4, n_heads=4, repeats=3, checked=2
        ),
        gpu=dict(
            turns=10, user=100, reply=300, d_model=384, n_layers=6, n_heads=6, repeats=3, checked=2
        ),
        profile=profile,
    )


def model_config(s: dict, causal: bool, vocab_size: int = 65) -> TransformerConfig:
    context = s["turns"] * (s["user"] + s["reply"])
    return TransformerConfig(
        vocab_size, context, s["d_model"], s["n_heads"], s["n_layers"], causal=causal
    )


def schedule(s: dict, mode: str) -> list[list[tuple[int, int]]]:
    """Per turn, the passes the model makes as (T new tokens, S keys visible after the pass)."""
    turns, u, a = s["turns"], s["user"], s["reply"]
    out = []
    for i in range(turns):
        history = i * (u + a)
        read = (u, history + u) if mode == "causal" else (history + u, history + u)
        out.append([read] + [(1, history + u + j) for j in range(1, a + 1)])
    return out


def pass_flops(cfg: TransformerConfig, T: int, S: int) -> int:
    """Forward FLOPs of T new tokens attending over S keys: 2 per weight of every matmul and
    token, plus 2 T S D for the scores and 2 T S D for the weighted values in each layer."""
    D, L = cfg.d_model, cfg.n_layers
    weights = L * (4 * D * D + 2 * D * cfg.d_ff) + D * cfg.vocab_size
    return 2 * T * weights + 4 * L * T * S * D


def converse(
    model: TransformerLM, s: dict, mode: str, user_msgs: Tensor, after_turn=None
) -> list[float]:
    """Hold the conversation once (greedy replies); returns each turn's wall time in seconds."""
    times, history, cache = [], user_msgs[:, :0], None
    for i in range(s["turns"]):
        user = user_msgs[:, i * s["user"] : (i + 1) * s["user"]]
        start = time.perf_counter()
        if mode == "causal":
            cache = cache or model.new_cache()
            logits = model(user, cache=cache)[
                :, -1
            ]  # the cache holds the history: read the message
        else:
            cache = model.new_cache()  # new tokens change the bidirectional prefix: encode it anew
            logits = model(torch.cat([history, user], dim=1), cache=cache)[:, -1]
        reply = []
        for _ in range(s["reply"]):
            token = logits.argmax(dim=-1, keepdim=True)  # (1, 1)
            reply.append(token)
            logits = model(token, cache=cache)[:, -1]  # read it back: its keys join the cache
        times.append(time.perf_counter() - start)
        history = torch.cat([history, user, *reply], dim=1)
        if after_turn is not None:
            after_turn()
    return times


@contextmanager
def plain_attention(model: TransformerLM):
    """Attention through explicit matmuls (which FlopCounterMode sees) while inside."""
    for block in model.blocks:
        block.attn.keep_weights = True
    try:
        yield
    finally:
        for block in model.blocks:
            block.attn.keep_weights = False


def counted_flops(model: TransformerLM, s: dict, mode: str, user_msgs: Tensor) -> list[int]:
    """FLOPs per turn as torch.utils.flop_counter.FlopCounterMode counts them."""
    totals = []
    with plain_attention(model), FlopCounterMode(display=False) as counter:
        converse(model, s, mode, user_msgs, lambda: totals.append(counter.get_total_flops()))
    return [b - a for a, b in zip([0] + totals, totals)]


def growth_exponent(cumulative: list[float]) -> float:
    """Least-squares slope of log(cumulative cost) against log(turn): 1 linear, 2 quadratic."""
    xs = [math.log(i + 1) for i in range(len(cumulative))]
    ys = [math.log(c) for c in cumulative]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)


def cumsum(values: list[float]) -> list[float]:
    return [sum(values[: i + 1]) for i in range(len(values))]


@torch.no_grad()
def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    with torch_threads(1):
        seed_everything(seed)
        models = {"causal": TransformerLM(model_config(s, causal=True)).eval()}
        models["prefix"] = TransformerLM(model_config(s, causal=False)).eval()
        models["prefix"].load_state_dict(models["causal"].state_dict())  # the same weights
        cfg = models["causal"].config
        gen = torch.Generator().manual_seed(seed)
        user_msgs = torch.randint(0, cfg.vocab_size, (1, s["turns"] * s["user"]), generator=gen)
        per_turn = {}
        for mode in MODES:
            passes = schedule(s, mode)
            per_turn[mode] = {
                "tokens_read": [sum(T for T, _ in turn) for turn in passes],
                "flops": [sum(pass_flops(cfg, T, S) for T, S in turn) for turn in passes],
                "flops_counted": counted_flops(
                    models[mode], s | {"turns": s["checked"]}, mode, user_msgs
                ),
            }
            converse(models[mode], s | {"turns": 1}, mode, user_msgs)  # warm up
        runs = {mode: [] for mode in MODES}
        for _ in range(s["repeats"]):  # interleaved: other load slows both modes alike
            for mode in MODES:
                runs[mode].append(converse(models[mode], s, mode, user_msgs))
    for mode in MODES:
        t = per_turn[mode]
        t["seconds"] = [statistics.median(r[i] for r in runs[mode]) for i in range(s["turns"])]
        t["seconds_all"] = runs[mode]
        t["cumulative_flops"] = cumsum(t["flops"])
        t["cumulative_seconds"] = cumsum(t["seconds"])
        t["tokens_exponent"] = growth_exponent(cumsum(t["tokens_read"]))
        t["flops_exponent"] = growth_exponent(t["cumulative_flops"])
        t["seconds_exponent"] = growth_exponent(t["cumulative_seconds"])
    c, p = per_turn["causal"], per_turn["prefix"]
    return {
        "experiment": "chat_cache",
        "profile": profile,
        "seed": seed,
        "settings": s,
        "model_config": asdict(cfg),
        "per_turn": per_turn,
        "summary": {
            "flops_ratio_total": p["cumulative_flops"][-1] / c["cumulative_flops"][-1],
            "flops_ratio_last_turn": p["flops"][-1] / c["flops"][-1],
            "seconds_ratio_total": p["cumulative_seconds"][-1] / c["cumulative_seconds"][-1],
            "seconds_ratio_last_turn": p["seconds"][-1] / c["seconds"][-1],
            "max_counter_mismatch": max(
                abs(a - b) / a
                for m in MODES
                for a, b in zip(per_turn[m]["flops"], per_turn[m]["flops_counted"])
            ),
        },
        **provenance(torch.device("cpu")),
    }


LABELS = {"causal": "causal + KV cache", "prefix": "prefix LM, history re-encoded"}


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for mode, t in r["per_turn"].items():
        turns = range(1, len(t["flops"]) + 1)
        axes[0].plot(turns, t["flops"], "o-", label=LABELS[mode])
        checked = t["flops_counted"]
        axes[0].plot(range(1, len(checked) + 1), checked, "x", color="k", ms=5)
        axes[1].plot(turns, t["cumulative_flops"], "o-", label=LABELS[mode])
        axes[2].plot(turns, t["cumulative_seconds"], "o-", label=LABELS[mode])
    axes[0].set(ylabel="forward FLOPs in the turn", title="Per turn (x: FlopCounterMode)")
    axes[1].set(ylabel="FLOPs so far", title="Cumulative FLOPs")
    axes[2].set(ylabel="seconds so far (one CPU thread)", title="Cumulative wall time")
    for ax in axes:
        ax.set(xlabel="turn")
        ax.legend(fontsize=8)
    s = r["settings"]
    fig.suptitle(
        f"A {s['turns']}-turn chat: {s['user']}-token messages, {s['reply']}-token replies "
        f"({r['profile']} profile, seed {r['seed']})"
    )
    fig.tight_layout()
    path = outdir / "chat_cache.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
