"""Experiment: incentives, not instructions. Two parts, each trained from a reward alone.

A. A small LM learns a Zipf-distributed knowledge base; a policy over (answer, hedge, abstain)
   on top of its confidence is trained by REINFORCE under two reward tables (the slides' penalty
   table and accuracy only). Recorded per fact-frequency bucket: reward, abstention, errors;
   and the thresholds the policy learned against the hand-derived ones.
B. Tic-tac-toe by self-play with the result at the end as the only reward: win rate against a
   random player and agreement with an exhaustive-search oracle as training grows.
The lab `5_1_incentives` runs the same settings step by step.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import torch

from lmlib.analysis import quiz
from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.experiments.results import provenance
from lmlib.models.transformer import TransformerConfig
from lmlib.rewards import qa as inc
from lmlib.rewards import tictactoe as ttt
from lmlib.runtime.device import pick_device
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile


def settings(profile: str) -> dict:
    """Sizes per profile (ci: seconds; cpu: about a minute and a half on 2 cores)."""
    return by_profile(
        ci=dict(
            n_entities=100, d_model=32, n_layers=1, steps=80, batch_size=64, lr=1e-2,
            edges=[1, 3, 10, 30], policy_steps=100, games=[0, 300, 1500], match_games=100,
        ),
        cpu=dict(
            n_entities=1000, d_model=64, n_layers=2, steps=800, batch_size=64, lr=3e-3,
            edges=[1, 3, 10, 30, 100], policy_steps=300, games=[0, 500, 2000, 8000, 32000],
            match_games=400,
        ),
        gpu=dict(
            n_entities=3000, d_model=128, n_layers=2, steps=3000, batch_size=128, lr=2e-3,
            edges=[1, 3, 10, 30, 100, 300], policy_steps=600, games=[0, 1000, 8000, 64000],
            match_games=1000,
        ),
        profile=profile,
    )  # fmt: skip


def quiz_model(s: dict, seed: int = 0) -> tuple[KnowledgeBase, dict, torch.Tensor, list[float]]:
    """Train the fact LM of settings `s`; returns the knowledge base, its quiz, reads per fact
    and the training losses."""
    kb = KnowledgeBase(s["n_entities"], seed=seed)
    tok = WordTokenizer(kb.vocabulary())
    cfg = TransformerConfig(
        tok.vocab_size, context=8, d_model=s["d_model"], n_heads=2, n_layers=s["n_layers"]
    )
    model, seen, losses = quiz.train_fact_lm(
        kb, tok, cfg, s["steps"], s["batch_size"], s["lr"], seed
    )
    return kb, quiz.answer_confidence(model, kb, tok), seen, losses


def incentive_runs(q: dict, seen: torch.Tensor, s: dict, seed: int = 0) -> dict:
    """Train one policy per reward table on half the facts, evaluate it on the other half."""
    bucket, names = quiz.frequency_buckets(seen, s["edges"])
    perm = torch.randperm(len(seen), generator=torch.Generator().manual_seed(seed))
    fit, held = perm[: len(perm) // 2], perm[len(perm) // 2 :]
    p, correct = q["p"], q["correct"]
    out = {}
    for name, table in inc.TABLES.items():
        policy = inc.ThresholdPolicy()
        curve = inc.train_policy(
            policy, p[fit], correct[fit], table, steps=s["policy_steps"], seed=seed
        )
        acts = policy.greedy(p[held])
        out[name] = {
            "table": table,
            "reward_curve": curve,
            "learned_thresholds": policy.learned_thresholds(),
            "hand_thresholds": inc.thresholds(table),
            "learned_speak": policy.speak_threshold(),
            "hand_speak": inc.speak_threshold(table),
            "best_threshold_on_data": inc.best_threshold(p[fit], correct[fit], table),
            "by_bucket": inc.by_bucket(acts, correct[held], bucket[held], table, names),
            "hand_rule_by_bucket": inc.by_bucket(
                inc.optimal_action(p[held], table), correct[held], bucket[held], table, names
            ),
            "mean_reward": float(inc.reward(acts, correct[held], table).mean()),
        }
    return out


def game_runs(s: dict, seed: int = 0) -> dict:
    """Self-play Monte Carlo training, measured at each number of games in s["games"]."""
    boards = ttt.contested(ttt.positions())
    agent, rng, done = ttt.MonteCarloAgent(), random.Random(seed), 0
    rows = []
    for games in s["games"]:
        agent.train(games - done, rng)
        done = games
        greedy = lambda b, r: agent.greedy(b)  # noqa: E731
        rows.append(
            {
                "games": games,
                "oracle_agreement": ttt.oracle_agreement(agent, boards),
                "vs_random": ttt.match(greedy, ttt.random_player, s["match_games"], rng),
                "vs_oracle": ttt.match(greedy, ttt.oracle_player, s["match_games"] // 4, rng),
            }
        )
    return {"contested_positions": len(boards), "curve": rows}


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    start = time.perf_counter()
    kb, q, seen, losses = quiz_model(s, seed)
    lm_wall = time.perf_counter() - start
    bucket, names = quiz.frequency_buckets(seen, s["edges"])
    quiz_rows = [
        {
            "bucket": name,
            "facts": int((bucket == i).sum()),
            "mean_p": float(q["p"][bucket == i].mean()),
            "accuracy": float(q["correct"][bucket == i].float().mean()),
        }
        for i, name in enumerate(names)
    ]
    start = time.perf_counter()
    tables = incentive_runs(q, seen, s, seed)
    policy_wall = time.perf_counter() - start
    start = time.perf_counter()
    game = game_runs(s, seed)
    game_wall = time.perf_counter() - start
    return {
        "experiment": "incentives",
        "profile": profile,
        "seed": seed,
        "settings": s,
        "facts": len(kb.facts),
        "lm_final_loss": sum(losses[-20:]) / len(losses[-20:]),
        "quiz_accuracy": float(q["correct"].float().mean()),
        "quiz_by_bucket": quiz_rows,
        "calibration": quiz.calibration(q["p"], q["correct"]),
        "tables": tables,
        "game": game,
        "wall_s": {
            "lm": round(lm_wall, 1),
            "policy": round(policy_wall, 1),
            "game": round(game_wall, 1),
        },
        **provenance(pick_device("cpu")),
    }


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    # 1. expected reward of each action against confidence, with the thresholds
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    ps = torch.linspace(0, 1, 101)
    for ax, (name, t) in zip(axes, r["tables"].items()):
        er = inc.expected_rewards(ps, t["table"])
        for a, label in enumerate(inc.ACTIONS):
            ax.plot(ps, er[:, a], label=label, lw=2, ls=("-", "--", ":")[a])
        learned, best = t["learned_speak"], t["best_threshold_on_data"]
        ax.axvline(t["hand_speak"], color="k", lw=1, label=f"hand-derived ({t['hand_speak']:.2f})")
        ax.axvline(learned, color="C3", lw=1.5, ls="-.", label=f"learned ({learned:.2f})")
        ax.axvline(best, color="C4", lw=1, ls="--", label=f"best on data ({best:.2f})")
        ax.set(xlabel="confidence p of the model's best answer", title=f"{name} table")
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("expected reward")
    fig.tight_layout()
    paths.append(outdir / "incentives_expected_reward.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    # 2. per fact-frequency bucket: abstention, errors, reward, for both tables
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for j, (key, label) in enumerate(
        [
            ("abstain", "abstention rate"),
            ("error", "error rate"),
            ("reward", "mean reward (each under its own table)"),
        ]
    ):
        for k, (name, t) in enumerate(r["tables"].items()):
            rows = t["by_bucket"]
            xs = torch.arange(len(rows)).float() + (k - 0.5) * 0.4
            axes[j].bar(xs, [row[key] for row in rows], width=0.4, label=f"{name} table")
        axes[j].set_xticks(range(len(rows)), [row["bucket"] for row in rows])
        axes[j].set(xlabel="times the fact was read in training", ylabel=label)
    axes[0].legend()
    fig.suptitle("Held-out questions by fact frequency (tail on the left, head on the right)")
    fig.tight_layout()
    paths.append(outdir / "incentives_by_frequency.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    # 3. tic-tac-toe learning curve
    curve = r["game"]["curve"]
    games = [max(c["games"], 1) for c in curve]
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(games, [c["oracle_agreement"] for c in curve], "o-", label="agrees with the oracle")
    ax.plot(games, [c["vs_random"]["win"] for c in curve], "s-", label="wins against random")
    ax.plot(games, [c["vs_oracle"]["draw"] for c in curve], "^-", label="draws against the oracle")
    ax.set_xscale("log")
    ax.set(
        xlabel="self-play games (log scale; 0 shown at 1)",
        ylabel="share",
        ylim=(0, 1),
        title="Tic-tac-toe from the final result only",
    )
    ax.legend()
    fig.tight_layout()
    paths.append(outdir / "incentives_tictactoe.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    return paths
