import pytest
import torch

from lmlib import CharTokenizer


def test_round_trip_and_sorted_ids():
    text = "To be, or not to be: that is the question.\n"
    tok = CharTokenizer.from_text(text)
    ids = tok.encode(text)
    assert ids.dtype == torch.long and ids.shape == (len(text),)
    assert tok.decode(ids) == text
    assert tok.vocab_size == len(set(text))
    assert tok.encode("\n ").tolist() == [0, 1]  # sorted: newline, then space


def test_unknown_characters_are_named():
    tok = CharTokenizer.from_text("abc")
    with pytest.raises(ValueError, match="'z'"):
        tok.encode("abz")
    with pytest.raises(ValueError):
        tok.decode([0, 7])
    with pytest.raises(ValueError):
        tok.decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError):
        CharTokenizer("")
