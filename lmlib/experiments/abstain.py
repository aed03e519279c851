"""Experiment: the language model itself learns to say "I don't know" from a reward table.

The fact LM of the incentives experiment is trained with one extra word, IDK, that its text never
contains. Its own weights are then tuned by REINFORCE with a baseline on questions about half of
the facts, once under the penalty table and once under accuracy-only reward (the control); the
model is never given its confidence. Held-out questions about the other half, whose reads in
training are counted, measure: the abstain rate against reads (Spearman rho), and the reward
against the untuned model and against the frozen-model threshold policy of `incentives`.

`lmlib run abstain` runs every seed of the profile (a file each; existing files are kept) and
draws the figure from all of them.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import torch

from lmlib.analysis import quiz
from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.experiments.results import load_seeds, profile_seeds, provenance, run_seeds, seed_path  # noqa: F401
from lmlib.models.transformer import TransformerConfig
from lmlib.rewards import abstain as ab
from lmlib.rewards import qa
from lmlib.runtime.device import pick_device
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile

SWEEP = True


def settings(profile: str) -> dict:
    """Sizes per profile (ci: seconds; cpu: under a minute a seed on one core)."""
    return by_profile(
        ci=dict(
            n_entities=100, d_model=32, n_layers=1, steps=80, batch_size=64, lr=3e-3,
            edges=[1, 3, 10, 30], rl_steps=20, rl_batch=32, rl_samples=8, rl_lr=1e-4,
            policy_steps=100, seeds=[0],
        ),
        cpu=dict(
            n_entities=1000, d_model=64, n_layers=2, steps=800, batch_size=64, lr=3e-3,
            edges=[1, 3, 10, 30, 100], rl_steps=300, rl_batch=64, rl_samples=8, rl_lr=1e-4,
            policy_steps=300, seeds=[0, 1, 2],
        ),
        gpu=dict(
            n_entities=3000, d_model=128, n_layers=2, steps=3000, batch_size=128, lr=2e-3,
            edges=[1, 3, 10, 30, 100, 300], rl_steps=600, rl_batch=128, rl_samples=8, rl_lr=1e-4,
            policy_steps=600, seeds=[0, 1, 2],
        ),
        profile=profile,
    )  # fmt: skip


def evaluate(acts: torch.Tensor, q: dict, seen: torch.Tensor, bucket, names, table) -> dict:
    """Held-out scores of choices (N,) (C = IDK): reward, abstain rate, and how both follow
    the reads of each fact."""
    n_choices = q["choices"].shape[1]
    r = ab.choice_rewards(acts, q["target"], table, n_choices)
    idk = acts == n_choices - 1
    wrong = ~idk & (acts != q["target"])
    rows = []
    for i, name in enumerate(names):
        m = bucket == i
        rows.append(
            {
                "bucket": name,
                "n": int(m.sum()),
                "abstain": float(idk[m].float().mean()) if m.any() else None,
                "wrong": float(wrong[m].float().mean()) if m.any() else None,
                "reward": float(r[m].mean()) if m.any() else None,
            }
        )
    return {
        "reward": float(r.mean()),
        "abstain": float(idk.float().mean()),
        "wrong": float(wrong.float().mean()),
        "rho_reads_abstain": ab.spearman(seen.double(), idk.double()),
        "by_bucket": rows,
    }


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    start = time.perf_counter()
    kb = KnowledgeBase(s["n_entities"], seed=seed)
    tok = WordTokenizer(ab.vocabulary(kb))
    cfg = TransformerConfig(
        tok.vocab_size, context=8, d_model=s["d_model"], n_heads=2, n_layers=s["n_layers"]
    )
    base, seen, losses = quiz.train_fact_lm(
        kb, tok, cfg, s["steps"], s["batch_size"], s["lr"], seed
    )
    lm_wall = time.perf_counter() - start
    q = ab.questions(kb, tok)
    idk_lift = ab.init_idk(base, q)
    perm = torch.randperm(len(kb.facts), generator=torch.Generator().manual_seed(seed))
    fit, held = perm[: len(perm) // 2], perm[len(perm) // 2 :]
    q_fit, q_held = ({k: v[i] for k, v in q.items()} for i in (fit, held))
    bucket, names = quiz.frequency_buckets(seen[held], s["edges"])
    score = lambda acts: evaluate(acts, q_held, seen[held], bucket, names, qa.PENALTY)  # noqa: E731
    # The untuned model and the frozen-model threshold policy, both scored under the penalty table.
    conf = quiz.answer_confidence(base, kb, tok)
    policy = qa.ThresholdPolicy()
    qa.train_policy(
        policy, conf["p"][fit], conf["correct"][fit], qa.PENALTY, s["policy_steps"], seed=seed
    )
    C = q["choices"].shape[1] - 1
    frozen = policy.greedy(conf["p"][held])
    frozen_acts = torch.where(frozen == qa.ABSTAIN, C, q_held["target"])  # right when correct
    frozen_acts = torch.where(
        (frozen != qa.ABSTAIN) & ~conf["correct"][held], (q_held["target"] + 1) % C, frozen_acts
    )
    out = {"untuned": score(ab.greedy(base, q_held)), "threshold_policy": score(frozen_acts)}
    with torch.no_grad():
        out["untuned"]["idk_probability"] = float(
            ab.choice_logits(base, q_held).softmax(-1)[:, -1].mean()
        )
    out["threshold_policy"]["speak_threshold"] = policy.speak_threshold()
    rl_wall = {}
    for name, table in qa.TABLES.items():
        model = copy.deepcopy(base)
        t0 = time.perf_counter()
        torch.manual_seed(seed)
        curve = ab.finetune(
            model, q_fit, table, s["rl_steps"], s["rl_batch"], s["rl_samples"], s["rl_lr"], seed
        )
        rl_wall[name] = round(time.perf_counter() - t0, 1)
        acts = ab.greedy(model, q_held)
        with torch.no_grad():
            p_idk = ab.choice_logits(model, q_held).softmax(-1)[:, -1]  # (N,)
        out[f"tuned_{name}"] = {
            **score(acts),
            "idk_probability": float(p_idk.mean()),
            "rho_reads_idk_probability": ab.spearman(seen[held].double(), p_idk.double()),
            "reward_own_table": float(
                ab.choice_rewards(acts, q_held["target"], table, C + 1).mean()
            ),
            "reward_curve": curve,
        }
    return {
        "experiment": "abstain",
        "profile": profile,
        "seed": seed,
        "settings": s,
        "facts": len(kb.facts),
        "held_out": len(held),
        "idk_lift": idk_lift,
        "lm_final_loss": sum(losses[-20:]) / len(losses[-20:]),
        "quiz_accuracy_held": float(conf["correct"][held].float().mean()),
        "policies": out,
        "wall_s": {"lm": round(lm_wall, 1), **rl_wall},
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
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    labels = {
        "tuned_penalty": "tuned, penalty table",
        "tuned_accuracy": "tuned, accuracy only",
        "threshold_policy": "frozen model + threshold",
        "untuned": "untuned model",
    }
    for j, (key, label) in enumerate(labels.items()):
        names = [row["bucket"] for row in runs[0]["policies"][key]["by_bucket"]]
        xs = torch.arange(len(names)).float()
        for k, r in enumerate(runs):
            rows = r["policies"][key]["by_bucket"]
            kw = {"label": label} if k == 0 else {}
            style = ("o-", "s--", "^:", "x-.")[j]
            axes[0].plot(xs, [row["abstain"] for row in rows], style, color=f"C{j}", **kw)
            axes[1].plot(xs, [row["reward"] for row in rows], style, color=f"C{j}", **kw)
    for ax, ylabel in zip(axes, ("share answered 'I don't know'", "mean reward (penalty table)")):
        ax.set_xticks(range(len(names)), names)
        ax.set(xlabel="times the fact was read in training", ylabel=ylabel)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Held-out questions, {len(runs)} seeds (one line each)")
    fig.tight_layout()
    path = outdir / "abstain_by_frequency.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
