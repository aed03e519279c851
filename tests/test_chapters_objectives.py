"""Numbers quoted in the pretraining-objectives chapter agree with the committed results of
`lmlib run objectives --profile cpu`, and its figures redraw from them."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUMMARY = ROOT / "results" / "objectives" / "cpu" / "summary.json"
CHAPTER = ROOT / "lectures" / "4_2_pretraining_objectives.md"
NAMES = {"mlm": "MLM", "electra-0.25": "ELECTRA", "all_tokens_mlm": "All-Tokens MLM"}
NAMES["electra_15"] = "ELECTRA 15%"
PAPER = {"mlm": "82.2", "electra-0.25": "85.0", "all_tokens_mlm": "84.3", "electra_15": "82.4"}


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def widths(summary: dict) -> list[tuple[float, str]]:
    return sorted((float(n.split("-")[1]), n) for n in summary["runs"] if n.startswith("electra-"))


def electra_wins(summary: dict) -> tuple[int, int]:
    """(seeds where ELECTRA's full-budget score beats MLM's, seeds compared)."""
    pairs = summary["electra_vs_mlm"].values()
    return sum(p[-1]["electra"] > p[-1]["mlm"] for p in pairs), len(pairs)


def loss_change(profile_dir: Path, run: str) -> str:
    """'from A to B': the mean training loss of a run's first and last tenth (seed 0)."""
    loss = json.loads((profile_dir / f"{run}-seed0.json").read_text())["loss"]
    return f"from {loss[0]:.2f} to {loss[-1]:.2f}"


def quoted_values(summary: dict, profile_dir: Path = SUMMARY.parent) -> dict[str, str]:
    """Every number the chapter quotes, formatted as it appears there (name -> text)."""
    s, runs = summary["settings"], summary["runs"]
    seeds = [str(k) for k in s["seeds"]]
    rows = []
    for name in ("mlm", "electra-0.25"):
        for k in seeds:
            r = runs[name][k]
            cells = " | ".join(pct(p["score"]) for p in r["points"])
            rows.append(
                f"| {NAMES[name]} | {k} | {r['steps']} | {cells} | {pct(r['final']['sentiment'])} |"
            )
    sweep = []
    for w, name in widths(summary):
        finals = [runs[name][k]["final"] for k in seeds]
        sweep.append(
            f"| {w:g} | {runs[name][seeds[0]]['steps']} | "
            + pct(sum(f["score"] for f in finals) / len(finals))
            + " | "
            + " | ".join(pct(f["score"]) for f in finals)
            + " | "
            + " | ".join(pct(f["sentiment"]) for f in finals)
            + " |"
        )
    ab_seed = str(s["ablation_seeds"][0])
    ablation = []
    for name in ("electra-0.25", "all_tokens_mlm", "electra_15", "mlm"):
        r = runs[name][ab_seed]
        ablation.append(
            f"| {NAMES[name]} | {PAPER[name]} | {r['steps']} | {pct(r['final']['score'])} | "
            f"{pct(r['final']['sentiment'])} | {pct(r['final']['agreement'])} | "
            f"{pct(r['final']['facts'])} |"
        )
    wins, compared = electra_wins(summary)
    best = {
        k: max(widths(summary), key=lambda wn: runs[wn[1]][k]["final"]["score"])[0] for k in seeds
    }
    untrained = [runs["mlm"][k]["points"][0]["score"] for k in seeds]
    all_runs = [r for by_seed in runs.values() for r in by_seed.values()]
    improved = sum(r["final"]["score"] > r["points"][0]["score"] for r in all_runs)
    agree = [r["final"]["agreement"] for r in all_runs]
    facts = [r["final"]["facts"] for r in all_runs]
    by_width = [[runs[n][k]["final"]["score"] for k in seeds] for _, n in widths(summary)]
    means = [sum(x) / len(x) for x in by_width]
    gap = sum(max(x) - min(x) for x in by_width) / len(by_width)
    ab = [
        runs[n][ab_seed]["final"]["score"]
        for n in ("electra-0.25", "all_tokens_mlm", "electra_15", "mlm")
    ]
    electra = [r for n, by_seed in runs.items() if "electra" in n for r in by_seed.values()]
    e_start = [runs["electra-0.25"][k]["points"][0]["sentiment"] for k in seeds]
    e_end = [r["final"]["sentiment"] for r in electra]
    all_tokens = runs["all_tokens_mlm"][ab_seed]
    final_gap = [
        pct(runs["mlm"][k]["final"]["score"] - runs["electra-0.25"][k]["final"]["score"])
        for k in seeds
    ]
    mid_lead = [
        p["electra"] - p["mlm"] for pairs in summary["electra_vs_mlm"].values() for p in pairs[1:-1]
    ]
    mlm_finals = [runs["mlm"][k]["final"]["score"] for k in seeds]
    sent_change = {  # MLM's sentiment, untrained and at the end
        k: f"(from {pct(runs['mlm'][k]['points'][0]['sentiment'])} to "
        f"{pct(runs['mlm'][k]['final']['sentiment'])})"
        for k in seeds
    }
    return {
        "seed0_gap": f"In seed 0 the two end {final_gap[0]} points apart",
        "seed1_gap": f"in seed 1 MLM ends {final_gap[1]} points ahead",
        "mid_lead": f"ELECTRA is ahead in both seeds, by between {pct(min(mid_lead))} and "
        f"{pct(max(mid_lead))} points",
        "mlm_seed_spread": f"MLM's two seeds end {pct(max(mlm_finals) - min(mlm_finals))} points "
        "apart",
        "mlm_sentiment_change": f"its sentiment rises in seed 1 {sent_change['1']} and falls in\n"
        f"seed 0 {sent_change['0']}",
        "width_steps": f"({pct(means[1] - means[0])} and {pct(means[2] - means[1])} points)",
        "full_width_steps": f"{runs['electra-1'][seeds[0]]['steps']} steps against "
        f"{runs['electra-0.5'][seeds[0]]['steps']} at a half",
        "ablation_tie": f"MLM and ELECTRA, {pct(ab[3] - ab[0])} points apart",
        "electra_sentiment": f"from {' and '.join(pct(x) for x in e_start)} untrained to between "
        f"{pct(min(e_end))} and {pct(max(e_end))}",
        "mlm_sentiment": " and ".join(pct(runs["mlm"][k]["final"]["sentiment"]) for k in seeds),
        "electra25_sentiment": " and ".join(
            pct(runs["electra-0.25"][k]["final"]["sentiment"]) for k in seeds
        ),
        "all_tokens_change": f"from {pct(all_tokens['points'][0]['score'])} to "
        f"{pct(all_tokens['final']['score'])}",
        "all_tokens_sentiment": f"from {pct(all_tokens['points'][0]['sentiment'])} to "
        f"{pct(all_tokens['final']['sentiment'])}",
        "budget": f"{s['pretrain']['flops']:.0e}".replace("e+", "e"),
        "d_model": f"d_model={s['model']['d_model']}",
        "n_layers": f"{s['model']['n_layers']} layers",
        "context": f"{s['pretrain']['context']} tokens",
        "shots": f"{s['shots']} labelled examples",
        "draws": f"{s['draws']} draws",
        "n_test": f"{s['n_test']} held-out examples",
        "table": "\n".join(rows),
        "sweep": "\n".join(sweep),
        "ablation": "\n".join(ablation),
        "wins": f"in {wins} of {compared} seeds",
        "best_widths": ", ".join(f"{best[k]:g} (seed {k})" for k in seeds),
        "untrained": " and ".join(pct(u) for u in untrained),
        "mlm_steps": f"{runs['mlm'][seeds[0]]['steps']} steps",
        "electra_steps": f"{runs['electra-0.25'][seeds[0]]['steps']} steps",
        "electra1_steps": f"{runs['electra-1'][seeds[0]]['steps']} steps",
        "wall": f"{summary['sweep_wall_s'] / 60:.1f} minutes",
        "improved": f"{improved} of {len(all_runs)} runs",
        "mlm_loss": loss_change(profile_dir, "mlm"),
        "electra_loss": loss_change(profile_dir, "electra-0.25"),
        "width_range": f"span {pct(max(means) - min(means))} points",
        "seed_gap": f"differ by {pct(gap)} points",
        "ablation_spread": f"within {pct(max(ab) - min(ab))} points",
        "agreement_range": f"between {pct(min(agree))} and {pct(max(agree))}",
        "facts_range": f"between {pct(min(facts))} and {pct(max(facts))}",
    }


def test_chapter_quotes_the_committed_runs():
    text = CHAPTER.read_text()
    summary = json.loads(SUMMARY.read_text())
    missing = {
        name: value
        for name, value in quoted_values(summary).items()
        if not all(line in text for line in value.split("\n"))
    }
    assert not missing, f"the chapter does not quote these committed results: {missing}"


def test_the_committed_runs_show_what_the_chapter_says():
    summary = json.loads(SUMMARY.read_text())
    runs, seeds = summary["runs"], [str(k) for k in summary["settings"]["seeds"]]
    final = lambda n, k, key="score": runs[n][k]["final"][key]  # noqa: E731
    start = lambda n, k, key="score": runs[n][k]["points"][0][key]  # noqa: E731
    for k in seeds:  # MLM ahead of ELECTRA at the full budget in every seed
        assert final("mlm", k) > final("electra-0.25", k)
    assert final("mlm", "0") - final("electra-0.25", "0") < 0.005  # by less than half a point
    assert final("electra-0.25", "0", "sentiment") > final("mlm", "0", "sentiment")
    assert final("mlm", "1", "sentiment") > final("electra-0.25", "1", "sentiment")
    gap1 = final("mlm", "1") - final("electra-0.25", "1")
    sent1 = final("mlm", "1", "sentiment") - final("electra-0.25", "1", "sentiment")
    assert sent1 / 3 > 0.9 * gap1  # almost all of seed 1's gap is sentiment
    mid = [p for pairs in summary["electra_vs_mlm"].values() for p in pairs[1:-1]]
    assert all(p["electra"] > p["mlm"] for p in mid)  # ELECTRA ahead at 1/4 and 1/2, every seed
    mlm_spread = max(final("mlm", k) for k in seeds) - min(final("mlm", k) for k in seeds)
    assert max(p["electra"] - p["mlm"] for p in mid) < mlm_spread  # the leads are within noise
    assert final("mlm", "0") - final("electra-0.25", "0") < mlm_spread
    improved = sorted((n, k) for n in runs for k in runs[n] if final(n, k) > start(n, k))
    assert improved == [("all_tokens_mlm", "0"), ("mlm", "1")]  # the two above untrained
    for n in (n for n in runs if "electra" in n):  # the discriminator loses sentiment
        assert all(final(n, k, "sentiment") < start(n, k, "sentiment") for k in runs[n])
    assert final("mlm", "1", "sentiment") > start("mlm", "1", "sentiment")  # MLM: rises in 1,
    assert final("mlm", "0", "sentiment") < start("mlm", "0", "sentiment")  # falls in 0
    ws = widths(summary)
    for k in seeds:  # the best width lies strictly inside the sweep, at a quarter or a half
        best = max(ws, key=lambda wn: final(wn[1], k))
        assert best[0] in (0.25, 0.5) and best not in (ws[0], ws[-1])
        assert best == max(ws, key=lambda wn: final(wn[1], k, "sentiment"))  # sentiment follows
    assert min(ws, key=lambda wn: final(wn[1], "1"))[0] == 0.25  # a quarter lowest in seed 1
    assert all(final(n, k) < final("mlm", k) for _, n in ws for k in seeds)  # none catches MLM
    mean = {w: sum(final(n, k) for k in seeds) / len(seeds) for w, n in ws}
    assert sorted(mean, key=mean.get, reverse=True) == [0.5, 0.25, 0.125, 1.0]
    gaps = {w: max(final(n, k) for k in seeds) - min(final(n, k) for k in seeds) for w, n in ws}
    assert max(gaps, key=gaps.get) == 0.25 and min(gaps, key=gaps.get) == 0.125
    noise = sum(gaps.values()) / len(gaps)
    assert mean[0.25] - mean[0.125] < noise and mean[0.5] - mean[0.25] < noise
    assert noise < mean[0.5] - mean[1.0] == max(mean.values()) - min(mean.values())
    order = sorted(
        ("all_tokens_mlm", "mlm", "electra-0.25", "electra_15"), key=lambda n: -final(n, "0")
    )
    assert order == ["all_tokens_mlm", "mlm", "electra-0.25", "electra_15"]


def test_the_committed_runs_are_at_equal_compute_and_clean():
    summary = json.loads(SUMMARY.read_text())
    budget = summary["settings"]["pretrain"]["flops"]
    for name, by_seed in summary["runs"].items():
        for seed, r in by_seed.items():
            spent = r["final"]["flops"]
            assert spent <= budget < spent + r["flops_per_step"], (name, seed)
    assert len(summary["settings"]["seeds"]) >= 2
    assert len(summary["runs"]["electra-0.25"]) >= 2 and len(widths(summary)) >= 4
    for p in sorted((SUMMARY.parent).glob("*-seed*.json")):
        commit = json.loads(p.read_text())["git_commit"]
        assert commit and not commit.endswith("-dirty"), p.name


def test_figures_redraw_from_the_committed_results(tmp_path):
    from lmlib.tools.cli import main

    assert (
        main(["run", "objectives", "--profile", "cpu", "--figures", "--figdir", str(tmp_path)]) == 0
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "objectives_equal_compute.png",
        "objectives_generator_size.png",
    ]
