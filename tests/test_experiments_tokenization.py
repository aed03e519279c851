"""The tokenization experiment: word tokens, equal-FLOPs steps, the parameter split, the sums,
one run of each kind, the summary, and the ci run end to end."""

import json
import math
import os
import random
from pathlib import Path

import pytest
import torch

from lmlib.data.tokenizer import CharTokenizer
from lmlib.experiments import EXPERIMENTS, runner, tokenization
from lmlib.experiments.results import read_results
from lmlib.models.transformer import TransformerLM

ROOT = Path(__file__).resolve().parents[1]
LAB = ROOT / "labs" / "solutions" / "3_3_tokenization.ipynb"
TEXT = "To be, or not to be, that is the question:\nWhether 'tis nobler in the mind\n" * 30
S = dict(d_model=16, n_heads=2, n_layers=1, batch_size=4, window_bytes=16, char_steps=10,
         eval_batches=1, arithmetic=dict(max_digits=2, n_train=300, n_test=5, vocab_size=280,
                                         window_bytes=16, steps=3, checkpoints=[1, 3]))  # fmt: skip


def test_word_tokens_encode_every_text_and_spell_rare_words_in_bytes():
    words = tokenization.WordTokens(TEXT, max_words=5)
    assert words.vocab_size == 256 + 5
    ids = words.encode(" the question")
    assert ids[:1] == [words.words[" the"]] and all(0 <= i < words.vocab_size for i in ids)
    assert words.encode(" zebra 東") == list(" zebra 東".encode())  # never seen: bytes
    everything = tokenization.WordTokens(TEXT, max_words=10_000)
    assert len(everything.encode(TEXT)) < len(words.encode(TEXT)) < len(TEXT)


def test_equal_flops_steps_spend_the_character_budget():
    s = tokenization.settings("cpu")
    vocab, context = {"char": 65, "bpe": 1024, "word": 2304}, {"char": 64, "bpe": 26, "word": 23}
    steps = tokenization.equal_flops_steps(s, vocab, context)
    assert steps["char"] == s["char_steps"]
    cost = {n: TransformerLM(tokenization.config(s, vocab[n], context[n])).flops_per_token()
            * context[n] for n in vocab}  # fmt: skip
    for n in vocab:
        assert abs(steps[n] * cost[n] - s["char_steps"] * cost["char"]) <= cost[n] / 2


def test_param_split_puts_v_times_d_in_the_embedding():
    s = tokenization.settings("cpu")
    small, big = (tokenization.param_split(s, v, 32) for v in (65, 2048))
    assert small["embedding"] == 65 * s["d_model"] and big["embedding"] == 2048 * s["d_model"]
    assert small["rest"] == big["rest"] and big["embedding_share"] > 0.5 > small["embedding_share"]
    model = TransformerLM(tokenization.config(s, 65, 32))
    assert small["params"] == model.num_params()


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_bpe_vocabularies_are_prefixes_of_one_training_run():
    s = dict(bpe_sizes=[270, 290], max_words=10)
    toks = tokenization.tokenizers(TEXT, s)
    assert set(toks) == {"char", "bpe-270", "bpe-290", "word"}
    assert toks["bpe-270"][1] == 270 and toks["bpe-290"][1] == 290
    assert len(toks["bpe-290"][0](TEXT)) < len(toks["bpe-270"][0](TEXT)) < len(TEXT)
    assert (
        toks["char"][0]("To be")
        == CharTokenizer.from_text(tokenization.fetch(tokenization.TINY_SHAKESPEARE).read_text())
        .encode("To be")
        .tolist()
    )


def test_sums_follow_the_corpus_and_leave_out_the_test_pairs():
    rng = random.Random(0)
    test = tokenization.sums(50, rng, max_digits=2)
    train = tokenization.sums(2000, rng, max_digits=2, exclude=frozenset(test))
    assert not set(test) & set(train)
    assert all(0 <= a < 100 and 0 <= b < 100 for a, b in train)
    assert any(a >= 10 for a, _ in train) and any(a < 10 for a, _ in train)
    assert tokenization.sum_text(47, 5) == "74+5=25.\n"


def test_one_lm_run_and_one_arithmetic_run_are_reproducible():
    data = {"name": "char", "vocab_size": 40, "context": 8,
            "train": torch.randint(0, 40, (500,)), "val": torch.randint(0, 40, (200,)),
            "val_bytes": 400}  # fmt: skip
    a, b = (tokenization.lm_run(S, data, 3, seed=1) for _ in range(2))
    assert a["val_loss"] == b["val_loss"] and a["steps"] == 3
    assert math.isclose(a["bits_per_byte"], a["val_loss"] * 200 / 400 / math.log(2))
    r = tokenization.arithmetic_run(S, split_digits=True, seed=0)
    assert r == tokenization.arithmetic_run(S, split_digits=True, seed=0)
    assert r["vocab_size"] == 256 and r["checkpoints"] == [1, 3] and len(r["accuracy"]) == 2
    assert all(0 <= a <= d <= 1 for a, d in zip(r["accuracy"], r["digit_accuracy"]))


def test_summarize_takes_medians_and_counts_seeds():
    bpb = {"char": [3.0, 3.2, 3.1], "bpe-512": [2.9, 3.3, 2.8]}
    runs = [{"tokenizer": n, "seed": s, "bits_per_byte": v}
            for n, vals in bpb.items() for s, v in enumerate(vals)]  # fmt: skip
    arith = [{"split_digits": split, "seed": s, "checkpoints": [5, 10], "accuracy": [acc / 2, acc],
              "digit_accuracy": [acc, acc]}
             for split, accs in ((False, [0.1, 0.5, 0.2]), (True, [0.8, 0.4, 0.9]))
             for s, acc in enumerate(accs)]  # fmt: skip
    out = tokenization.summarize(runs, arith)
    assert out["best_median"] == "bpe-512" and out["per_tokenizer"]["char"]["median"] == 3.1
    assert out["lowest_per_seed"] == {"0": "bpe-512", "1": "char", "2": "bpe-512"}
    assert out["best_lowest_in"] == 2 and out["split_higher_in"] == {"5": 2, "10": 2}
    assert out["arithmetic"]["10"]["split"]["accuracy"] == [0.8, 0.4, 0.9]
    assert out["arithmetic"]["5"]["merged"]["median"] == 0.1


def test_the_lab_calls_the_experiment():
    nb = json.loads(LAB.read_text())
    code = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    for call in ("tokenization.datasets(", "tokenization.lm_run(", "tokenization.arithmetic_run(",
                 "tokenization.equal_flops_steps(", "tokenization.summarize("):  # fmt: skip
        assert call in code
    assert EXPERIMENTS["tokenization"] == "lmlib.experiments.tokenization"


@pytest.mark.skipif(not os.environ.get("LMLIB_DATA_DIR"), reason="needs LMLIB_DATA_DIR")
def test_ci_run_writes_results_and_figures(tmp_path):
    from lmlib.tools.cli import main

    args = ["run", "tokenization", "--profile", "ci", "--results", str(tmp_path / "res"),
            "--figdir", str(tmp_path / "fig")]  # fmt: skip
    assert main(args) == 0
    r = read_results(runner.results_path("tokenization", "ci", 0, tmp_path / "res"))
    assert len(r["runs"]) == 4 * 2 and len(r["arithmetic"]) == 2 * 2
    assert set(r["tokenizers"]) == {"char", "bpe-300", "bpe-400", "word"}
    assert set(r["summary"]["arithmetic"]) == {"4", "8"}
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {"tokenization_bpb.png"}
