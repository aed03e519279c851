import pytest
import torch

from lmlib import CharTokenizer
from lmlib.data.tokenizer import WordTokenizer


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


def test_word_tokenizer_round_trip_and_first_seen_order():
    tok = WordTokenizer(["the", "cat", "sat", "the", "."])
    assert tok.vocab_size == 4
    assert tok.encode(["the", "cat", "."]) == [0, 1, 3]
    assert tok.decode([0, 1, 3]) == ["the", "cat", "."]
    assert tok.decode(torch.tensor([2, 0])) == ["sat", "the"]


def test_word_tokenizer_errors_name_the_problem():
    tok = WordTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="'zebra'"):
        tok.encode(["a", "zebra"])
    with pytest.raises(TypeError):
        tok.encode("a b")
    with pytest.raises(ValueError):
        tok.decode([0, 5])
    with pytest.raises(ValueError):
        tok.decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(ValueError):
        WordTokenizer([])


def test_check_ids_names_shape_dtype_and_context():
    import pytest
    import torch

    from lmlib.data.tokenizer import check_ids

    check_ids(torch.zeros(2, 5, dtype=torch.long), context=5)
    with pytest.raises(ValueError, match=r"\(B, T\) token ids, got shape \(5,\)"):
        check_ids(torch.zeros(5, dtype=torch.long))
    with pytest.raises(TypeError, match="integer token ids"):
        check_ids(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="exceeds the model's context=4"):
        check_ids(torch.zeros(1, 5, dtype=torch.long), context=4)
