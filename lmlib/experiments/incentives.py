"""Experiment: incentives, not instructions. Two parts, each trained from a reward alone.

A. A small LM learns a Zipf-distributed knowledge base; a policy over (answer, hedge, abstain)
   on top of its confidence is trained by REINFORCE under two reward tables (the slides' penalty
   table and accuracy only). Recorded per fact-frequency bucket: reward, abstention, errors;
   and the thresholds the policy learned against the hand-derived ones.
B. Tic-tac-toe by self-play with the result at the end as the only reward: win rate against a
   random player and agreement with an exhaustive-search oracle as training grows.
The lab `5_1_incentives` runs the same settings step by step. `lmlib run incentives` runs every
seed of the profile (a results file each; existing files are kept) and draws the figures from all
of them.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import torch

from lmlib.analysis import quiz
from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.experiments.results import load_seeds, profile_seeds, provenance, run_seeds, seed_path  # noqa: F401
from lmlib.models.transformer import TransformerConfig
from lmlib.rewards import qa as inc
from lmlib.rewards import tictactoe as ttt
from lmlib.runtime.device import pick_device
from lmlib.runtime.files import save_figure
from lmlib.runtime.profiles import by_profile

SWEEP = True


def settings(profile: str) -> dict:
    """Sizes per profile (ci: seconds; cpu: about a minute and a half on 2 cores; gpu: three
    seeds of a fact LM in about ten minutes of a T4, trained where `device` says)."""
    return by_profile(
        ci=dict(
            n_entities=100, d_model=32, n_layers=1, steps=80, batch_size=64, lr=1e-2,
            edges=[1, 3, 10, 30], policy_steps=100, games=[0, 300, 1500], match_games=100,
            seeds=[0],
        ),
        cpu=dict(
            n_entities=1000, d_model=64, n_layers=2, steps=800, batch_size=64, lr=3e-3,
            edges=[1, 3, 10, 30, 100], policy_steps=300, games=[0, 500, 2000, 8000, 32000],
            match_games=400, seeds=[0, 1, 2],
        ),
        gpu=dict(
            n_entities=10000, d_model=320, n_layers=6, steps=3000, batch_size=512, lr=1e-3,
            edges=[1, 3, 10, 30, 100, 300], policy_steps=600, games=[0, 1000, 8000, 64000],
            match_games=1000, seeds=[0, 1, 2], device="auto",
        ),
        profile=profile,
    )  # fmt: skip


def lab_settings(profile: str) -> dict:
    """The lab's sizes: the experiment's, except at `gpu`, where the lab's one seed takes a
    wider fact LM (d_model 512) for five to ten minutes of a T4."""
    s = settings(profile)
    return {**s, "d_model": 512} if profile == "gpu" else s


def quiz_model(s: dict, seed: int = 0) -> tuple[KnowledgeBase, dict, torch.Tensor, list[float]]:
    """Train the fact LM of settings `s`; returns the knowledge base, its quiz, reads per fact
    and the training losses."""
    kb = KnowledgeBase(s["n_entities"], seed=seed)
    tok = WordTokenizer(kb.vocabulary())
    cfg = TransformerConfig(
        tok.vocab_size, context=8, d_model=s["d_model"], n_heads=2, n_layers=s["n_layers"]
    )
    device = s.get("device", "cpu")
    model, seen, losses = quiz.train_fact_lm(
        kb, tok, cfg, s["steps"], s["batch_size"], s["lr"], seed, device=device
    )
    return kb, quiz.answer_confidence(model, kb, tok, device), seen, losses


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
        **provenance(pick_device(s.get("device", "cpu"))),
    }


def run_sweep(profile: str, root: Path, seeds=None, jobs: int = 1) -> dict:
    """Every seed of the profile, `jobs` at a time; seeds whose file exists are kept (resume)."""
    return {"seeds": run_seeds(__name__, profile, root, seeds, jobs)}


def load(root: Path, profile: str) -> list[dict]:
    """The results of every seed of the profile, in seed order."""
    return load_seeds(root, profile, profile_seeds(__name__, profile))


def figures(root: Path, profile: str, outdir: Path) -> list[Path]:
    """The chapter's three figures; the per-bucket bars are means over the seeds, with each
    seed's value as a dot, and every seed's learning curve is drawn."""
    import matplotlib.pyplot as plt

    runs = load(root, profile)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    # 1. expected reward of each action against confidence, with each seed's thresholds
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    ps = torch.linspace(0, 1, 101)
    for ax, name in zip(axes, runs[0]["tables"]):
        t = runs[0]["tables"][name]
        er = inc.expected_rewards(ps, t["table"])
        for a, label in enumerate(inc.ACTIONS):
            ax.plot(ps, er[:, a], label=label, lw=2, ls=("-", "--", ":")[a])
        ax.axvline(t["hand_speak"], color="k", lw=1, label=f"hand-derived ({t['hand_speak']:.2f})")
        for k, r in enumerate(runs):
            learned, best = (
                r["tables"][name][key] for key in ("learned_speak", "best_threshold_on_data")
            )
            ax.axvline(learned, color="C0", lw=1.5, ls="-.", label="learned" if k == 0 else None)
            ax.axvline(best, color="C4", lw=1, ls="--", label="best on data" if k == 0 else None)
        ax.set(xlabel="confidence p of the model's best answer", title=f"{name} table")
        ax.legend(fontsize=8, loc="lower right")
    axes[0].set_ylabel("expected reward")
    fig.suptitle(f"Thresholds of {len(runs)} seeds (one line each)")
    fig.tight_layout()
    paths.append(outdir / "incentives_expected_reward.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    # 2. per fact-frequency bucket: abstention, errors, reward, for both tables
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    keys = [
        ("abstain", "abstention rate"),
        ("error", "error rate"),
        ("reward", "mean reward (each under its own table)"),
    ]
    for j, (key, label) in enumerate(keys):
        for k, name in enumerate(runs[0]["tables"]):
            per_seed = torch.tensor(
                [[row[key] for row in r["tables"][name]["by_bucket"]] for r in runs]
            )  # (seeds, buckets)
            xs = torch.arange(per_seed.shape[1]).float() + (k - 0.5) * 0.4
            axes[j].bar(xs, per_seed.mean(0), width=0.4, label=f"{name} table", color=f"C{k}")
            for row in per_seed:
                axes[j].plot(xs, row, "k.", ms=3)
        buckets = [row["bucket"] for row in runs[0]["tables"][name]["by_bucket"]]
        axes[j].set_xticks(range(len(buckets)), buckets)
        axes[j].set(xlabel="times the fact was read in training", ylabel=label)
    axes[0].legend()
    fig.suptitle(
        f"Held-out questions by fact frequency, mean of {len(runs)} seeds (dots: each seed)"
    )
    fig.tight_layout()
    paths.append(outdir / "incentives_by_frequency.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    # 3. tic-tac-toe learning curves, one per seed
    fig, ax = plt.subplots(figsize=(7, 3.8))
    for k, r in enumerate(runs):
        curve = r["game"]["curve"]
        games = [max(c["games"], 1) for c in curve]
        lab = (lambda text: text) if k == 0 else (lambda text: None)  # noqa: E731
        ax.plot(
            games,
            [c["oracle_agreement"] for c in curve],
            "o-",
            color="C0",
            label=lab("agrees with the oracle"),
        )
        ax.plot(
            games,
            [c["vs_random"]["win"] for c in curve],
            "s-",
            color="C1",
            label=lab("wins against random"),
        )
        ax.plot(
            games,
            [c["vs_oracle"]["draw"] for c in curve],
            "^-",
            color="C2",
            label=lab("draws against the oracle"),
        )
    ax.set_xscale("log")
    ax.set(
        xlabel="self-play games (log scale; 0 shown at 1)",
        ylabel="share",
        ylim=(0, 1),
        title=f"Tic-tac-toe from the final result only ({len(runs)} seeds)",
    )
    ax.legend()
    fig.tight_layout()
    paths.append(outdir / "incentives_tictactoe.png")
    save_figure(fig, paths[-1])
    plt.close(fig)
    return paths
