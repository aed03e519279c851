"""The tokenization chapter quotes `lmlib run tokenization --profile cpu`: every number of ours in
its prose and table is checked here, in its sentence, against the results file."""

import json
import math
from pathlib import Path

import pytest
from claims import find_claim

from lmlib.experiments import tokenization

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "tokenization" / "cpu-seed0.json"
CHAPTER = ROOT / "lectures" / "3_3_tokenization.md"
LAB = ROOT / "labs" / "solutions" / "3_3_tokenization.ipynb"
NAMES = {"char": "characters", "bpe-512": "BPE 512", "bpe-2048": "BPE 2048", "word": "words"}


@pytest.fixture(scope="module")
def record() -> dict:
    return json.loads(RESULTS.read_text())


@pytest.fixture(scope="module")
def chapter() -> str:
    return CHAPTER.read_text()


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def test_run_is_clean_complete_and_summarized(record):
    assert record["profile"] == "cpu" and record["seeds"] == [0, 1, 2]
    assert record["git_commit"] and not record["git_commit"].endswith("-dirty")
    assert record["threads"] == 1
    assert record["settings"] == tokenization.settings("cpu")
    assert set(record["tokenizers"]) == set(NAMES)
    assert len(record["runs"]) == 4 * 3 and len(record["arithmetic"]) == 2 * 3
    assert record["summary"] == tokenization.summarize(record["runs"], record["arithmetic"])
    for r in record["runs"]:
        d = record["tokenizers"][r["tokenizer"]]
        assert r["steps"] == d["steps"] and math.isfinite(r["bits_per_byte"])


def test_settings_quoted_in_the_chapter_are_the_run_settings(record, chapter):
    s = record["settings"]
    assert find_claim(chapter, str(s["n_layers"]), ("layers", "width"))
    assert find_claim(chapter, str(s["d_model"]), ("layers", "width"))
    assert find_claim(chapter, str(s["window_bytes"]), ("context", "bytes"))
    assert find_claim(chapter, str(s["char_steps"]), ("character model", "steps"))
    assert find_claim(chapter, f"{s['max_words']}", ("most frequent chunks",))
    assert find_claim(chapter, f"{s['arithmetic']['n_train']:,}", ("sums", "held-out"))
    assert find_claim(
        chapter, str(record["tokenizers"]["char"]["vocab_size"]), ("tiny Shakespeare",)
    )


def test_bytes_per_token_of_each_vocabulary(record, chapter):
    for v in record["settings"]["bpe_sizes"]:
        b = record["tokenizers"][f"bpe-{v}"]["bytes_per_token"]
        assert find_claim(chapter, f"{b:.2f}", (str(v), "bytes per token")), v


def test_table_is_the_run(record, chapter):
    summary = record["summary"]["per_tokenizer"]
    for n, label in NAMES.items():
        d, p = record["tokenizers"][n], summary[n]
        row = [label, str(d["vocab_size"]), f"{d['bytes_per_token']:.2f}", str(d["context"]),
               str(d["steps"]), *(f"{v:.3f}" for v in p["bits_per_byte"]), f"{p['median']:.3f}",
               _pct(d["embedding_share"])]  # fmt: skip
        assert "| " + " | ".join(row) + " |" in chapter, row
        assert find_claim(chapter, f"{p['median']:.3f}", (label, "median"))
        assert find_claim(chapter, str(d["steps"]), (label, "steps"))


def test_prose_results_are_the_run(record, chapter):
    s = record["summary"]
    per = s["per_tokenizer"]
    best = s["best_median"]
    assert find_claim(chapter, f"{per[best]['median']:.3f}", (NAMES[best], "lowest median"))
    assert find_claim(chapter, f"{s['best_lowest_in']} of 3 seeds", (NAMES[best], "lowest"))
    assert find_claim(chapter, f"{per['char']['median']:.3f}", ("characters", "median"))
    # the comparisons the prose states in words
    tok = record["tokenizers"]
    assert best == "word" and max(per, key=lambda n: per[n]["median"]) == "char"
    assert per["char"]["median"] - per["bpe-512"]["median"] > per["char"]["spread"]
    gap = per["bpe-512"]["median"] - per["bpe-2048"]["median"]
    assert 0 < gap < min(per["bpe-512"]["spread"], per["bpe-2048"]["spread"])
    assert tok["word"]["bytes_per_token"] < tok["bpe-2048"]["bytes_per_token"]
    assert tok["bpe-2048"]["bytes_per_token"] < 2 * tok["bpe-512"]["bytes_per_token"]
    assert len({tok[n]["rest"] // 1000 for n in tok}) <= 3  # the layers stay about the same size
    for n in ("char", "bpe-512", "bpe-2048", "word"):
        share = record["tokenizers"][n]["embedding_share"]
        assert find_claim(chapter, _pct(share), (NAMES[n], "embedding")), n


def test_gpt2_split_is_lmlib_arithmetic(chapter):
    split = tokenization.param_split(dict(d_model=768, n_heads=12, n_layers=12), 50257, 1024)
    assert find_claim(chapter, _pct(split["embedding_share"]), ("GPT-2", "embedding"))
    assert find_claim(chapter, f"{split['params'] / 1e6:.1f} million", ("GPT-2", "parameters"))


def test_arithmetic_table_and_prose_are_the_run(record, chapter):
    s = record["summary"]
    steps = record["settings"]["arithmetic"]["checkpoints"]
    assert set(s["arithmetic"]) == {str(c) for c in steps}
    for step in steps:
        at = s["arithmetic"][str(step)]
        cells = [_pct(v) for v in at["merged"]["accuracy"] + at["split"]["accuracy"]]
        row = [str(step), *cells, f"{s['split_higher_in'][str(step)]} of 3 seeds"]
        assert "| " + " | ".join(row) + " |" in chapter, row
    mid = s["arithmetic"][str(steps[1])]  # "ahead in every seed", then "the order had turned"
    assert all(m > sp for m, sp in zip(mid["merged"]["accuracy"], mid["split"]["accuracy"]))
    assert s["split_higher_in"][str(steps[-1])] == 3
    for step in (steps[0], steps[-1]):
        at = s["arithmetic"][str(step)]
        for rule, words in (("merged", ("merged",)), ("split", ("one digit per token",))):
            acc = at[rule]["accuracy"]
            three = f"{_pct(acc[0])}, {_pct(acc[1])} and {_pct(acc[2])}"
            assert find_claim(chapter, three, (*words, "held-out", f"{step} steps")), (step, rule)


def test_chapter_and_lab_link_each_other():
    assert "{doc}`/labs/3_3_tokenization`" in CHAPTER.read_text()
    nb = json.loads(LAB.read_text())
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "{doc}`/lectures/3_3_tokenization`" in text
    assert nb["cells"][1]["source"][0].startswith("# Lab 3.3 — ")
    assert CHAPTER.read_text().startswith("# 3.3 ")
