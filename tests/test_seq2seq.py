"""The seq2seq tasks: deterministic, held out, answerable from the input, scored as intended."""

import pytest
import torch

from lmlib.data.seq2seq import (
    BOS,
    EOS,
    decoder_input,
    exact_match,
    fact_lookup,
    lexicon_translation,
    token_accuracy,
)


@pytest.fixture(scope="module")
def facts():
    return fact_lookup(n_train=300, n_test=50)


@pytest.fixture(scope="module")
def translation():
    return lexicon_translation(n_train=300, n_test=50)


def test_shapes_and_lengths(facts, translation):
    assert facts.train_src.shape == (300, 8 + 2) and facts.train_tgt.shape == (300, 2)
    assert translation.test_src.shape == (50, 6) and translation.test_tgt.shape == (50, 13)
    assert facts.src_len > facts.tgt_len  # long input, short target
    assert translation.tgt_len > translation.src_len  # the target is the longer one
    for task in (facts, translation):
        assert (task.train_tgt[:, -1] == EOS).all() and (task.test_tgt[:, -1] == EOS).all()
        assert int(task.train_src.max()) < task.vocab_size and int(task.train_src.min()) > EOS


def test_same_seed_same_data_and_another_seed_other_data():
    a, b, c = (
        fact_lookup(100, 20, seed=3),
        fact_lookup(100, 20, seed=3),
        fact_lookup(100, 20, seed=4),
    )
    assert torch.equal(a.train_src, b.train_src) and torch.equal(a.test_tgt, b.test_tgt)
    assert not torch.equal(a.train_src, c.train_src)


def test_held_out_inputs_never_occur_in_training(facts, translation):
    for task in (facts, translation):
        train = {tuple(r) for r in task.train_src.tolist()}
        assert not train & {tuple(r) for r in task.test_src.tolist()}


def test_fact_lookup_answer_is_the_value_of_the_key_asked(facts):
    for src, tgt in zip(facts.test_src, facts.test_tgt):
        words = facts.decode(src).split()
        assert words[-2] == "?"
        book = dict(w.split("=") for w in words[:-2])
        assert len(book) == len(words) - 2  # keys are distinct
        assert facts.decode(tgt) == f"{book[words[-1]]} <eos>"


def test_lexicon_translation_is_a_fixed_lexicon_in_reversed_order(translation):
    lexicon = {}
    for src, tgt in zip(translation.train_src, translation.train_tgt):
        words, symbols = translation.decode(src).split(), translation.decode(tgt).split()
        assert symbols[-1] == "<eos>" and len(symbols) == 2 * len(words) + 1
        for i, w in enumerate(reversed(words)):
            pair = tuple(symbols[2 * i : 2 * i + 2])
            assert lexicon.setdefault(w, pair) == pair  # the same word, always the same pair
    assert len(set(lexicon.values())) == len(lexicon)  # distinct words, distinct pairs


def test_decoder_input_is_bos_then_target_shifted():
    tgt = torch.tensor([[5, 6, EOS]])
    assert decoder_input(tgt).tolist() == [[BOS, 5, 6]]


def test_metrics():
    tgt = torch.tensor([[3, 4, 1], [5, 6, 1]])
    pred = torch.tensor([[3, 4, 1], [5, 7, 1]])
    assert exact_match(pred, tgt) == 0.5
    assert token_accuracy(pred, tgt) == pytest.approx(5 / 6)
    with pytest.raises(ValueError, match="same shape"):
        exact_match(pred[:, :2], tgt)


def test_batches_come_from_the_training_set(facts):
    src, tgt = facts.batch(16, torch.Generator().manual_seed(0))
    train = {tuple(r) for r in facts.train_src.tolist()}
    assert src.shape == (16, facts.src_len) and all(tuple(r) in train for r in src.tolist())


def test_bad_sizes_get_clear_errors():
    with pytest.raises(ValueError, match="n_facts <= n_keys"):
        fact_lookup(10, 5, n_facts=9, n_keys=8)
    with pytest.raises(ValueError, match="n_symbols"):
        lexicon_translation(10, 5, n_source=70, n_symbols=8)
    with pytest.raises(ValueError, match="n_train >= 1"):
        fact_lookup(0, 5)
    with pytest.raises(ValueError, match="too small"):
        lexicon_translation(10, 50, n_words=1, n_source=2, n_symbols=2)
