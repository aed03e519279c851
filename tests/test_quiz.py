"""The fact LM: sentence encoding, Zipf-sampled training, the quiz, frequency buckets."""

from unittest import mock

import pytest
import torch

from lmlib.analysis import quiz
from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.models.transformer import TransformerConfig


@pytest.fixture(scope="module")
def kb_tok():
    kb = KnowledgeBase(12, seed=0)
    return kb, WordTokenizer(kb.vocabulary())


def test_encode_facts_pads_and_finds_the_answer(kb_tok):
    kb, tok = kb_tok
    (idx, targets), pos = quiz.encode_facts(kb, tok)
    assert idx.shape == targets.shape and idx.shape[0] == len(kb.facts)
    for i, fact in enumerate(kb.facts):
        n = len(kb.sentence(fact))
        assert tok.decode(idx[i, :n]) == kb.sentence(fact)
        assert tok.decode([int(idx[i, pos[i]])]) == [fact.answer]
        assert (targets[i, n:] == quiz.IGNORE).all() and (targets[i, :n] == idx[i, :n]).all()


def test_training_reads_head_facts_more_and_learns_them(kb_tok):
    kb, tok = kb_tok
    cfg = TransformerConfig(tok.vocab_size, context=8, d_model=32, n_heads=2, n_layers=1)
    model, seen, losses = quiz.train_fact_lm(kb, tok, cfg, steps=150, batch_size=32, lr=1e-2)
    assert int(seen.sum()) == 150 * 32 and seen[:4].sum() > seen[-4:].sum()
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10])
    q = quiz.answer_confidence(model, kb, tok)
    assert q["p"].shape == q["correct"].shape == (len(kb.facts),)
    assert ((q["p"] > 0) & (q["p"] <= 1)).all()
    head = torch.tensor([f.rank <= 3 for f in kb.facts])
    # band for this tiny run: head facts (read hundreds of times) known, and known confidently
    assert q["correct"][head].float().mean() > 0.9 and q["p"][head].mean() > q["p"][~head].mean()
    again = quiz.train_fact_lm(kb, tok, cfg, steps=5, batch_size=8, seed=1)
    assert quiz.train_fact_lm(kb, tok, cfg, steps=5, batch_size=8, seed=1)[2] == again[2]


def test_train_fact_lm_refuses_mismatched_sizes(kb_tok):
    kb, tok = kb_tok
    with pytest.raises(ValueError, match="vocab_size"):
        quiz.train_fact_lm(kb, tok, TransformerConfig(7, context=8), steps=1)
    with pytest.raises(ValueError, match="context"):
        quiz.train_fact_lm(kb, tok, TransformerConfig(tok.vocab_size, context=2), steps=1)


def test_train_fact_lm_runs_where_it_is_told(kb_tok, monkeypatch):
    kb, tok = kb_tok
    cfg = TransformerConfig(tok.vocab_size, context=8, d_model=16, n_heads=2, n_layers=1)
    plain = quiz.train_fact_lm(kb, tok, cfg, steps=4, batch_size=8)
    named = quiz.train_fact_lm(kb, tok, cfg, steps=4, batch_size=8, device=torch.device("cpu"))
    assert named[2] == plain[2] and torch.equal(named[1], plain[1])  # CPU default unchanged
    monkeypatch.delenv("LMLIB_DEVICE", raising=False)
    with mock.patch.object(torch.cuda, "is_available", return_value=False):
        with pytest.raises(ValueError, match="CUDA is not available"):
            quiz.train_fact_lm(kb, tok, cfg, steps=1, device="cuda")
    asked = []  # the device reaches pick_device ("auto" as None: cuda > mps > cpu)
    monkeypatch.setattr(quiz, "pick_device", lambda d: asked.append(d) or torch.device("cpu"))
    for device in ("cuda", "auto"):
        model = quiz.train_fact_lm(kb, tok, cfg, steps=1, batch_size=4, device=device)[0]
        assert next(model.parameters()).device.type == "cpu"  # returned on the CPU
    assert asked == ["cuda", None]


def test_frequency_buckets_and_calibration():
    ids, names = quiz.frequency_buckets(torch.tensor([0, 1, 2, 3, 9, 10, 500]), [1, 3, 10])
    assert names == ["0", "1-2", "3-9", "10+"] and ids.tolist() == [0, 1, 1, 2, 2, 3, 3]
    with pytest.raises(ValueError, match="increasing"):
        quiz.frequency_buckets(torch.tensor([1]), [3, 1])
    rows = quiz.calibration(
        torch.tensor([0.05, 0.15, 0.95, 0.99]), torch.tensor([0, 0, 1, 0]).bool()
    )
    assert [r["n"] for r in rows] == [1, 1, 2] and rows[-1]["accuracy"] == 0.5


def test_the_quiz_in_chunks_gives_the_whole_quiz_and_leaves_the_model_where_it_was(kb_tok):
    kb, tok = kb_tok
    cfg = TransformerConfig(tok.vocab_size, context=8, d_model=16, n_heads=2, n_layers=1)
    model = quiz.train_fact_lm(kb, tok, cfg, steps=30, batch_size=16)[0]
    whole = quiz.answer_confidence(model, kb, tok)
    parts = quiz.answer_confidence(model, kb, tok, device="cpu", chunk=5)  # the last one short
    assert len(kb.facts) % 5 != 0
    torch.testing.assert_close(parts["p"], whole["p"], rtol=1e-5, atol=1e-7)
    assert parts["answer"] == whole["answer"] and torch.equal(parts["correct"], whole["correct"])
    assert next(model.parameters()).device.type == "cpu"
