"""The chapter-number finder: a number counts only in its own sentence or table cell, beside the
words that give it its meaning."""

from claims import find_claim, sentences, table_cells

TEXT = """# A chapter

The fit gives an exponent of 0.25 over three decades. Copying reaches 0.253 at the top.
A value of 10.25 means nothing here.

| size | loss | exact |
|---|---|---|
| xs | 2.013 | 0.05 |
| xl | 1.402 | 0.91 |

```python
exponent = 0.99  # code is not prose
```
"""


def test_a_number_counts_only_beside_its_meaning_words():
    assert find_claim(TEXT, "0.25", ("exponent",))
    assert not find_claim(TEXT, "0.25", ("copying",))  # another sentence
    assert find_claim(TEXT, "0.253", ("copying",))
    assert not find_claim(TEXT, "0.99", ("exponent",))  # inside a code block


def test_no_substring_matches():
    assert not find_claim("Copying reaches 0.253 at the top.", "0.25", ("copying",))
    assert not find_claim("A value of 10.25 for copying.", "0.25", ("copying",))
    assert find_claim("Copying reaches 0.25.", "0.25", ("copying",))


def test_table_cells_take_their_row_and_column_as_context():
    assert find_claim(TEXT, "1.402", ("xl", "loss"))
    assert not find_claim(TEXT, "1.402", ("xs", "loss"))
    assert not find_claim(TEXT, "0.91", ("xl", "loss"))
    assert ("xs", "exact", "0.05") in table_cells(TEXT)


def test_sentences_split_prose_only():
    got = sentences(TEXT)
    assert "The fit gives an exponent of 0.25 over three decades." in got
    assert not any("0.99" in s for s in got)
