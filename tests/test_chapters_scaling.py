"""Numbers quoted in the scaling and emergence chapters agree with the committed cpu sweep."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SWEEP = ROOT / "results" / "scaling" / "cpu"
TASKS = ("agreement", "sentiment", "facts", "arithmetic", "quotes", "copying")
TABLE = (  # (probe, metric) columns of the emergence chapter's table
    ("agreement", "two_way"),
    ("facts", "exact"),
    ("quotes", "exact"),
    ("copying", "exact"),
    ("arithmetic_1", "exact"),
    ("arithmetic_3", "exact"),
    ("arithmetic_3", "token_acc"),
    ("memo_trap", "two_way"),
)


def load() -> tuple[dict, list[dict]]:
    summary = json.loads((SWEEP / "summary.json").read_text())
    runs = [json.loads((SWEEP / name).read_text()) for name in summary["runs"]]
    return summary, runs


def k(n: float) -> str:
    return f"{n / 1e3:.1f}K" if n < 1e4 else f"{n / 1e3:.0f}K"


def recall(runs: list[dict], size: str, min_count: int) -> float:
    vals = [
        row["exact"]
        for r in runs
        if r["size"] == size
        for row in r["facts_by_count"]
        if row["min_count"] == min_count
    ]
    return sum(vals) / len(vals)


def quoted_numbers() -> dict[str, str]:
    """name -> the text the chapters quote, computed from the committed results."""
    s, runs = load()
    first, last = s["sizes"][0], s["sizes"][-1]
    fit, pfit = s["fits"]["compute"], s["fits"]["params"]
    q = {
        "n_sizes": str(len(s["sizes"])),
        "n_seeds": str(len(s["seeds"])),
        "params_lo": k(s["params"][0]),
        "params_hi": k(s["params"][-1]),
        "tokens": f"{runs[0]['tokens']:,}",
        "compute_lo": f"{s['compute'][0]:.1e}",
        "compute_hi": f"{s['compute'][-1]:.1e}",
        "fit_l_inf": f"{fit['l_inf']:.2f}",
        "fit_alpha": f"{fit['alpha']:.2f} ± {fit['alpha_err']:.2f}",
        "fit_r2": f"{fit['r2']:.3f}",
        "pfit_alpha": f"{pfit['alpha']:.2f} ± {pfit['alpha_err']:.2f}",
        "wall_total": f"{s['total_wall_time_s'] / 60:.0f} minutes",
        "recall1_lo": f"{recall(runs, first, 1):.2f}",
        "recall1_hi": f"{recall(runs, last, 1):.2f}",
        "recall4_lo": f"{recall(runs, first, 4):.2f}",
        "recall4_hi": f"{recall(runs, last, 4):.2f}",
    }
    for n in s["sizes"]:
        mean, std = s["loss"][n]
        q[f"loss_{n}"] = f"{mean:.3f} ± {std:.3f}"
        q[f"row_{n}"] = " | ".join(f"{s['metrics'][f'{p}/{m}'][n][0]:.2f}" for p, m in TABLE)
    for n in (first, last):
        tasks = [r for r in runs if r["size"] == n and r["seed"] == s["seeds"][0]][0]
        for t in tasks["decomposition"]["tasks"]:
            q[f"part_{n}_{t['task']}"] = f"{t['share']:.0%} | {t['loss']:.2f}"
    return q


SHAPES = (
    ("agreement/two_way", "agreement"),
    ("sentiment/two_way", "sentiment"),
    ("facts/exact", "facts"),
    ("quotes/exact", "quote endings"),
    ("copying/exact", "copying"),
    ("arithmetic_1/exact", "1-digit sums"),
    ("arithmetic_3/exact", "3-digit sums"),
    ("memo_trap/two_way", "the memo trap"),
)


def emergence_numbers() -> dict[str, str]:
    from lmlib.analysis.power_law import curve_shape

    s, _ = load()
    m = lambda key: [s["metrics"][key][n][0] for n in s["sizes"]]  # noqa: E731
    q = {
        "agree_xs": f"{m('agreement/two_way')[0]:.2f}",
        "agree_s": f"{m('agreement/two_way')[1]:.2f}",
        "facts_lo": f"{m('facts/exact')[0]:.2f}",
        "facts_hi": f"{m('facts/exact')[-1]:.2f}",
        "quotes_xs": f"{m('quotes/exact')[0]:.2f}",
        "quotes_s": f"{m('quotes/exact')[1]:.2f}",
        "copy_tok_s": f"{m('copying/token_acc')[1]:.2f}",
        "copy_loss_s": f"{m('copying/loss')[1]:.2f}",
        "a1_xs": f"{m('arithmetic_1/exact')[0]:.2f}",
        "a1_xxl": f"{m('arithmetic_1/exact')[-1]:.2f}",
        "a3_max": f"{max(m('arithmetic_3/exact')):.3f}",
        "a3_tok_xs": f"{m('arithmetic_3/token_acc')[0]:.2f}",
        "a3_tok_xxl": f"{m('arithmetic_3/token_acc')[-1]:.2f}",
        "a3_loss_xs": f"{m('arithmetic_3/loss')[0]:.2f}",
        "a3_loss_xxl": f"{m('arithmetic_3/loss')[-1]:.2f}",
        "memo_xs": f"{m('memo_trap/two_way')[0]:.2f}",
        "memo_s": f"{m('memo_trap/two_way')[1]:.2f}",
        "memo_m": f"{m('memo_trap/two_way')[2]:.2f}",
    }
    q["shapes"] = ", ".join(f"{label}: *{curve_shape(m(key))}*" for key, label in SHAPES)
    return q


CHAPTER_KEYS = {
    "03_scaling": (
        "params_lo params_hi tokens compute_lo compute_hi fit_l_inf fit_alpha fit_r2 pfit_alpha "
        "recall1_lo recall1_hi recall4_lo recall4_hi n_seeds"
    ).split()
    + [f"loss_{n}" for n in ("xs", "s", "m", "l", "xl", "xxl")]
    + [f"part_{n}_{t}" for n in ("xs", "xxl") for t in TASKS],
    "04_emergence": [f"row_{n}" for n in ("xs", "s", "m", "l", "xl", "xxl")]
    + ["n_seeds", "shapes"]
    + (
        "agree_xs agree_s facts_lo facts_hi quotes_xs quotes_s copy_tok_s copy_loss_s a1_xs "
        "a1_xxl a3_max a3_tok_xs a3_tok_xxl a3_loss_xs a3_loss_xxl memo_xs memo_s memo_m"
    ).split(),
}


@pytest.mark.parametrize("name", sorted(CHAPTER_KEYS))
def test_chapters_quote_the_committed_sweep(name):
    text = (ROOT / "lectures" / f"{name}.md").read_text()
    q = quoted_numbers() | emergence_numbers()
    missing = {key: q[key] for key in CHAPTER_KEYS[name] if q[key] not in text}
    assert not missing, f"{name} does not quote these committed results: {missing}"
