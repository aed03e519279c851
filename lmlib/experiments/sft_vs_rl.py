"""Experiment: imitation or reward, at equal compute, on sums with a checker.

A small GPT is pretrained on sums of 1- and 2-digit numbers (and a few 3-digit ones: the long
sums its "web" rarely shows). From that one pretrained model, three arms spend the same FLOPs on
3-digit sums: (a) supervised fine-tuning (SFT) on N worked demonstrations, (b) REINFORCE with a
verifiable reward (1 if the answer checks, else 0) on fresh prompts and no demonstrations, (c)
SFT on the same demonstrations for half the budget, then RL for the other half. Greedy accuracy
is measured on held-out 3-digit sums (in distribution) and on 4-digit sums (beyond the training
range), beside two floors: the untrained and the pretrained-only model.

FLOPs count 6 per weight per trained token (forward and backward) and 2 per weight per sampled
token (a forward pass with a KV cache), as `TransformerLM.flops_per_token` does.

`lmlib run sft_vs_rl` runs every seed of the profile (a file each; existing files are kept) and
draws the figure from all of them.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch

from lmlib.experiments.results import load_seeds, profile_seeds, provenance, run_seeds
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.rewards import sums
from lmlib.runtime.device import pick_device, torch_threads
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile
from lmlib.training.checkpoint import resumed, save_checkpoint
from lmlib.training.flops import record

SWEEP = True
ARMS = ("sft", "rl", "sft_then_rl")
FLOORS = ("untrained", "pretrained")
TRAIN_DIGITS, BEYOND_DIGITS = 3, 4
EVALS = {"1": (1, 1), "2": (2, 2), "3": (3, 3), "4": (4, 4), "3+1": (3, 1), "1+3": (1, 3)}


def settings(profile: str) -> dict:
    """Sizes per profile (ci: seconds; cpu: a few minutes a seed on one core)."""
    return by_profile(
        ci=dict(
            d_model=32, n_layers=1, pre_steps=60, pre_mix={1: 0.3, 2: 0.6, 3: 0.1}, batch_size=32,
            lr=3e-3, demos=64, budget_sft_steps=10, rl_prompts=8, samples=4, ft_lr=3e-4,
            n_eval=64, seeds=[0],
        ),
        cpu=dict(
            d_model=64, n_layers=2, pre_steps=8000, pre_mix={1: 0.2, 2: 0.7, 3: 0.1},
            batch_size=64, lr=3e-3, demos=256, budget_sft_steps=1000, rl_prompts=16, samples=4,
            ft_lr=5e-4, n_eval=500, seeds=[0, 1, 2],
        ),
        gpu=dict(  # about 1.6e15 FLOPs: 7 minutes of a T4 at 4 TFLOP/s (lmlib budget)
            d_model=256, n_layers=4, pre_steps=20000, pre_mix={1: 0.2, 2: 0.7, 3: 0.1},
            batch_size=256, lr=1e-3, demos=2048, budget_sft_steps=3000, rl_prompts=64,
            samples=4, ft_lr=3e-4, n_eval=2000, seeds=[0, 1, 2],
        ),
        profile=profile,
    )  # fmt: skip


def pretrain_flops(model: TransformerLM, mix: dict, steps: int, batch_size: int) -> float:
    """FLOPs of `pretrain`, each step at the mix's expected sequence length."""
    lengths = {d: 2 * d + 1 + sums.answer_width(d) for d in mix}  # the words the model reads
    per_step = sum(w * step_flops(model, batch_size, lengths[d]) for d, w in mix.items())
    return steps * per_step / sum(mix.values())


def pretrain(
    model: TransformerLM,
    mix: dict,
    steps: int,
    batch_size: int,
    lr: float,
    gen,
    checkpoint: Path | None = None,
    every: int = 0,
) -> list:
    """Next-token prediction on whole sums (prompt and answer), their digit count drawn from
    `mix` each step; the learning rate decays linearly to zero. Returns each step's loss.
    Batches are drawn on the CPU and trained where the model is.

    With `checkpoint`, a file, the model, optimizer, `gen` and losses are saved there every
    `every` steps (default: a tenth of the run) and at the end; called again with the same
    arguments after a stop, it carries on from the last save and ends with the same numbers."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    dev = next(model.parameters()).device
    tok, lengths = sums.tokenizer(), list(mix)
    weights = torch.tensor([mix[d] for d in lengths], dtype=torch.float)
    losses: list[float] = []
    config = {"mix": mix, "steps": steps, "batch_size": batch_size, "lr": lr,
              "model": repr(model.config), "device": str(dev)}  # fmt: skip
    if state := resumed(checkpoint, config, "pretraining"):
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        gen.set_state(state["generator"])
        losses = state["losses"]
    every = every or max(1, steps // 10)
    model.train()
    for step in range(len(losses), steps):
        d = lengths[int(torch.multinomial(weights, 1, generator=gen))]
        a, b = sums.problems(batch_size, d, gen)
        p, ans = sums.prompts(a, b, tok), sums.answers(a, b, tok, sums.answer_width(d))
        seq = torch.cat([p, ans], 1).to(dev)
        mask = torch.cat([torch.ones_like(p, dtype=torch.bool), sums.answer_mask(ans)], 1)[:, 1:]
        mask = mask.to(dev)
        logp = sums.answer_logprobs(model(seq[:, :-1]), seq[:, 1:])  # (B, T-1)
        loss = -(logp * mask).sum() / mask.sum()
        for group in opt.param_groups:
            group["lr"] = lr * (1 - step / steps)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if checkpoint is not None and (step + 1 == steps or (step + 1) % every == 0):
            save_checkpoint({"run": config, "model": model.state_dict(), "losses": losses,
                             "optimizer": opt.state_dict(), "generator": gen.get_state()},
                            checkpoint)  # fmt: skip
    record(pretrain_flops(model, mix, steps, batch_size), steps * batch_size)
    return losses


def step_flops(model: TransformerLM, sequences: int, trained: int, sampled: int = 0) -> float:
    """FLOPs of one step on `sequences` sequences of `trained` words (forward and backward) and
    `sampled` generated words each (forward only)."""
    fpt = model.flops_per_token(trained + sampled)  # 3 x forward per token
    return sequences * (fpt * trained + fpt / 3 * sampled)


def arm_plan(arm: str, model: TransformerLM, s: dict) -> dict:
    """The steps of SFT and of RL an arm takes within the FLOPs of `budget_sft_steps` SFT steps
    on batches of `batch_size` demonstrations, and the FLOPs they cost."""
    width = sums.answer_width(TRAIN_DIGITS)
    T = 2 * TRAIN_DIGITS + 2 + width - 1  # prompt and answer, less the last word
    sft_cost = step_flops(model, s["batch_size"], T)
    rl_cost = step_flops(model, s["rl_prompts"] * s["samples"], T, width)
    budget = s["budget_sft_steps"] * sft_cost
    sft_steps = round({"sft": 1.0, "rl": 0.0, "sft_then_rl": 0.5}[arm] * budget / sft_cost)
    rl_steps = round((budget - sft_steps * sft_cost) / rl_cost)
    return {"sft_steps": sft_steps, "rl_steps": rl_steps,
            "flops": sft_steps * sft_cost + rl_steps * rl_cost}  # fmt: skip


def model_config(s: dict) -> TransformerConfig:
    """The small GPT of every arm: context for the longest sum evaluated."""
    ctx = 2 * BEYOND_DIGITS + 2 + sums.answer_width(BEYOND_DIGITS)
    return TransformerConfig(
        len(sums.WORDS), context=ctx, d_model=s["d_model"], n_heads=4, n_layers=s["n_layers"]
    )


def planned_flops(s: dict) -> float:
    """Training FLOPs of one seed: pretraining and the three arms."""
    model = TransformerLM(model_config(s))
    total = pretrain_flops(model, s["pre_mix"], s["pre_steps"], s["batch_size"])
    return total + sum(arm_plan(arm, model, s)["flops"] for arm in ARMS)


def finetune(arm: str, base: TransformerLM, demos, s: dict, gen) -> tuple[TransformerLM, dict]:
    """One arm from a copy of the pretrained model (see `arm_plan`)."""
    model, tok = copy.deepcopy(base), sums.tokenizer()
    width = sums.answer_width(TRAIN_DIGITS)
    P = 2 * TRAIN_DIGITS + 2
    plan = arm_plan(arm, model, s)
    sft_steps, rl_steps = plan["sft_steps"], plan["rl_steps"]
    opt = torch.optim.AdamW(model.parameters(), lr=s["ft_lr"], weight_decay=0.0)
    da, db = demos
    dev = next(model.parameters()).device
    d_prompts, d_answers = sums.prompts(da, db, tok), sums.answers(da, db, tok, width)
    d_prompts, d_answers = d_prompts.to(dev), d_answers.to(dev)
    sft_loss, rl_reward = [], []
    for _ in range(sft_steps):
        rows = torch.randint(len(da), (s["batch_size"],), generator=gen).to(dev)
        sft_loss.append(sums.sft_step(model, opt, d_prompts[rows], d_answers[rows]))
    for _ in range(rl_steps):
        a, b = sums.problems(s["rl_prompts"], TRAIN_DIGITS, gen)
        rl_reward.append(sums.rl_step(model, opt, a, b, tok, s["samples"], gen))
    record(
        plan["flops"], (sft_steps * s["batch_size"] + rl_steps * s["rl_prompts"] * s["samples"]) * P
    )
    return model, {**plan, "sft_loss": sft_loss, "rl_reward": rl_reward}


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    start = time.perf_counter()
    tok, cfg = sums.tokenizer(), model_config(s)
    gen = torch.Generator().manual_seed(seed)
    held = torch.Generator().manual_seed(10_000 + seed)  # never the training draws
    evals = {name: sums.problems(s["n_eval"], da, held, db) for name, (da, db) in EVALS.items()}
    demos = sums.problems(s["demos"], TRAIN_DIGITS, gen)

    def score(model: TransformerLM) -> dict:
        return {name: sums.accuracy(model, a, b, tok) for name, (a, b) in evals.items()}

    with torch_threads(1):
        torch.manual_seed(seed)
        untrained = TransformerLM(cfg).eval()
        base = copy.deepcopy(untrained)
        losses = pretrain(base, s["pre_mix"], s["pre_steps"], s["batch_size"], s["lr"], gen)
        base.eval()
        out = {"untrained": {"accuracy": score(untrained)}, "pretrained": {"accuracy": score(base)}}
        wall = {"pretrain": round(time.perf_counter() - start, 1)}
        for arm in ARMS:
            t0 = time.perf_counter()
            model, log = finetune(arm, base, demos, s, torch.Generator().manual_seed(seed + 1))
            out[arm] = {"accuracy": score(model.eval()), **log}
            # memorised or learned: the demonstrations themselves, against fresh sums
            out[arm]["accuracy"]["demos"] = sums.accuracy(model, *demos, tok)
            wall[arm] = round(time.perf_counter() - t0, 1)
    return {
        "experiment": "sft_vs_rl",
        "profile": profile,
        "seed": seed,
        "settings": s,
        "model": {"params": base.num_params(), "config": cfg},
        "pretrain_final_loss": sum(losses[-20:]) / len(losses[-20:]),
        "arms": out,
        "wall_s": wall,
        **provenance(pick_device("cpu")),
    }


def run_sweep(profile: str, root: Path, seeds=None, jobs: int = 1) -> dict:
    """Every seed of the profile, `jobs` at a time; seeds whose file exists are kept (resume)."""
    return {"seeds": run_seeds(__name__, profile, root, seeds, jobs)}


def load(root: Path, profile: str) -> list[dict]:
    """The results of every seed of the profile, in seed order."""
    return load_seeds(root, profile, profile_seeds(__name__, profile))


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    runs = load(root, profile)
    outdir.mkdir(parents=True, exist_ok=True)
    panels = {"3": "fresh 3-digit sums (trained length)", "demos": "its 3-digit demonstrations",
              "2": "2-digit sums (known before)", "4": "4-digit sums (beyond)"}  # fmt: skip
    fig, axes = plt.subplots(1, len(panels), figsize=(15, 3.8), sharey=True)
    names = [*FLOORS, *ARMS]
    labels = ["untrained", "pretrained\nonly", "SFT", "RL", "SFT\nthen RL"]
    for ax, (col, title) in zip(axes, panels.items()):
        for k, r in enumerate(runs):
            xs = [i for i, n in enumerate(names) if col in r["arms"][n]["accuracy"]]
            acc = [r["arms"][names[i]]["accuracy"][col] for i in xs]
            ax.plot(xs, acc, "os^"[k % 3], color=f"C{k}", label=f"seed {r['seed']}", alpha=0.8)
        ax.set_xticks(range(len(names)), labels, fontsize=8)
        ax.set(title=title, ylim=(-0.03, 1.03))
    axes[0].set_ylabel("exact-match accuracy (greedy)")
    axes[0].legend(fontsize=8)
    fig.suptitle("One pretrained model, the same fine-tuning FLOPs: imitation, reward, both")
    fig.tight_layout()
    path = outdir / "sft_vs_rl.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
