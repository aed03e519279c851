import random

import pytest
import torch

from lmlib.data.multitask import (
    MIX,
    NEGATIVE,
    POSITIVE,
    TASKS,
    MultitaskCorpus,
    arithmetic_sentence,
)


@pytest.fixture(scope="module")
def corpus():
    return MultitaskCorpus(n_entities=30, n_quotes=8, seed=0)


def test_stream_is_deterministic_and_labels_every_token(corpus):
    a, b = corpus.stream(3000, seed=5), corpus.stream(3000, seed=5)
    assert torch.equal(a.ids, b.ids) and torch.equal(a.family, b.family)
    assert not torch.equal(a.ids, corpus.stream(3000, seed=6).ids)
    assert a.ids.shape == a.family.shape == a.answer.shape and len(a.ids) >= 3000
    assert a.answer.dtype == torch.bool and a.answer.any()
    assert set(a.family.tolist()) == set(range(len(TASKS)))  # every family, memo trap never
    facts = (a.family == TASKS.index("facts")) & a.answer  # one answer per fact sentence
    assert sum(a.fact_counts) == facts.sum().item()
    quotes = (a.family == TASKS.index("quotes")) & a.answer
    assert sum(a.quote_counts) == quotes.sum().item()


def test_mix_sums_to_one():
    assert sum(MIX.values()) == pytest.approx(1.0) and set(MIX) == set(TASKS)


def test_answers_are_right():
    rng = random.Random(0)
    c = MultitaskCorpus(n_entities=20, n_quotes=4)
    s = arithmetic_sentence(57, 68)  # least significant digit first: 57 + 68 = 125
    assert " ".join(s.words) == "7 5 + 8 6 = 5 2 1 ." and sum(s.answer) == 3
    for _ in range(50):
        a = c.agreement(rng, mismatch=True)
        plural_subject = a.words[1].endswith("s")
        assert a.words[5] in (("are", "were") if plural_subject else ("is", "was"))
        assert a.words[4].endswith("s") != plural_subject  # the attractor disagrees
        r = c.sentiment(rng)
        positive = sum(w in POSITIVE for w in r.words)
        assert positive + sum(w in NEGATIVE for w in r.words) == 3
        assert r.words[5] == ("good" if positive >= 2 else "bad")
        f = c.fact(rng)
        assert f.words[f.answer.index(True)] == c.kb.facts[f.key].answer
        cp = c.copying(rng)
        k = sum(cp.answer)
        assert cp.words[4 : 4 + k] == cp.words[5 + k : 5 + 2 * k]


def test_memo_trap_chance_is_one_half_for_frequency_and_bigram_models(corpus):
    """The altered ending is the partner quote's ending: after the same previous word, and as
    frequent, so counting words or word pairs cannot tell the altered ending from the true one."""
    by_prev = {}
    for q in corpus.quotes:
        by_prev.setdefault(q[-2], []).append(q[-1])
    assert all(len(set(endings)) == 2 for endings in by_prev.values())
    endings = [q[-1] for q in corpus.quotes]
    assert sorted(corpus.swapped) == sorted(endings)  # each ending is altered exactly once
    for q, altered in zip(corpus.quotes, corpus.swapped):
        assert altered not in q and altered in by_prev[q[-2]]
        assert all(altered not in other[:-1] for other in corpus.quotes)  # endings only as endings
    s = corpus.stream(20000, seed=3)
    ids = s.ids.tolist()
    tok = corpus.tokenizer
    counts = {w: ids.count(tok.encode([w])[0]) for w in endings}
    pairs = list(zip(ids, ids[1:]))
    for q, altered in zip(corpus.quotes, corpus.swapped):
        true_n, alt_n = counts[q[-1]], counts[altered]
        assert abs(true_n - alt_n) < 0.35 * max(true_n, alt_n)  # sampling noise only
        prev = tok.encode([q[-2]])[0]
        after = [b for a, b in pairs if a == prev]
        t, a = after.count(tok.encode([q[-1]])[0]), after.count(tok.encode([altered])[0])
        assert abs(t - a) < 0.5 * max(t, a) + 3
    trap = corpus.memo_trap(0)
    assert trap.words[-1] == corpus.swapped[0] and sum(trap.answer) == 1


def test_bad_arguments():
    with pytest.raises(ValueError):
        MultitaskCorpus(n_quotes=3)
    with pytest.raises(ValueError, match="pool words"):
        MultitaskCorpus(n_quotes=60)


def test_quote_grid_pairs_every_shared_word_with_every_ending_once():
    c = MultitaskCorpus(n_entities=10, n_quotes=64, seed=1, quote_endings=8)
    assert len(c.quotes) == 64 and len(set(c.quotes)) == 64
    pairs = [q[-2:] for q in c.quotes]
    assert len(set(pairs)) == 64  # every (next-to-last word, ending) once
    endings = [q[-1] for q in c.quotes]
    assert all(endings.count(e) == 8 for e in set(endings)) and len(set(endings)) == 8
    assert sorted(c.swapped) == sorted(endings)
    for q, altered in zip(c.quotes, c.swapped):
        assert altered != q[-1] and (q[-2], altered) in pairs  # the partner's ending, same word
        assert all(altered not in other[:-1] for other in c.quotes)
    with pytest.raises(ValueError, match="divide"):
        MultitaskCorpus(n_entities=10, n_quotes=64, quote_endings=6)


def test_copy_lengths_and_seen_sentences():
    c = MultitaskCorpus(n_entities=10, n_quotes=8, seed=0, copy_lengths=(3, 8))
    rng = random.Random(0)
    lengths = {len(c.copying(rng).words) for _ in range(400)}
    assert min(lengths) == 2 * 3 + 6 and max(lengths) == 2 * 8 + 6  # prompt, list, '|', copy, end
    sents = list(c.sentences(2000, seed=4))
    assert sum(len(s.words) for s in sents) == len(c.stream(2000, seed=4).ids)
    assert c.seen(2000, 4) == {s.words for s in sents}
    with pytest.raises(ValueError, match="copy_lengths"):
        MultitaskCorpus(n_entities=10, copy_lengths=(5, 3))
