import random
from collections import Counter

import pytest
import torch

from lmlib.data.bpe import BPETokenizer, chunks, encode_chunk, learn_merges, merge

TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.\n\nFirst Citizen:\nYou are all resolved rather to die than to famish?\n"
    "All:\nResolved. resolved.\n\nThe sum 1234 + 5678 = 6912, and 12 + 34 = 46.\n"
) * 3


def naive_merges(text: str, n_merges: int, split_digits: bool = False) -> list[tuple[int, int]]:
    """The textbook loop: recount every pair in every chunk, merge the most frequent one."""
    seqs = [list(c.encode("utf-8")) for c in chunks(text, split_digits)]
    merges = []
    for new_id in range(256, 256 + n_merges):
        counts = Counter(p for ids in seqs for p in zip(ids, ids[1:]))
        if not counts:
            break
        best = max(counts, key=lambda p: (counts[p], -p[0], -p[1]))
        merges.append(best)
        seqs = [merge(ids, best, new_id) for ids in seqs]
    return merges


def test_merge_replaces_left_to_right_without_overlap():
    assert merge([1, 1, 1, 2], (1, 1), 9) == [9, 1, 2]
    assert merge([1, 2, 3, 1, 2], (1, 2), 7) == [7, 3, 7]
    assert merge([1], (1, 2), 7) == [1]
    assert merge([], (1, 2), 7) == []


def test_chunks_join_back_into_any_text():
    rng = random.Random(0)
    alphabet = "ab Z9_\n\t'.,!東京éß😀\u00a0\u0301²"
    for _ in range(200):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        assert "".join(chunks(s)) == s
        assert "".join(chunks(s, split_digits=True)) == s
    assert chunks("it's 2024") == ["it", "'s", " 2024"]
    assert chunks("it's 2024", split_digits=True) == ["it", "'s", " 2", "0", "2", "4"]


def test_learn_merges_matches_the_textbook_loop():
    words = Counter(c.encode("utf-8") for c in chunks(TEXT))
    assert learn_merges(words, 60) == naive_merges(TEXT, 60)
    words = Counter(c.encode("utf-8") for c in chunks(TEXT, split_digits=True))
    assert learn_merges(words, 60) == naive_merges(TEXT, 60, split_digits=True)


def test_encode_chunk_applies_merges_in_the_order_learned():
    merges = {(97, 98): 256, (256, 99): 257, (98, 99): 258}  # ab, then (ab)c, then bc
    assert encode_chunk(b"abc", merges) == [257]
    assert encode_chunk(b"bc", merges) == [258]
    assert encode_chunk(b"xabcab", merges) == [120, 257, 256]
    assert encode_chunk(b"", merges) == []


def test_round_trip_on_text_never_seen_in_training():
    tok = BPETokenizer().train(TEXT, vocab_size=300)
    assert tok.vocab_size == 300
    for s in ["", "Speak, speak.", "東京 🙂 naïve café\r\n\x00", "x_y = 42; z'll", TEXT]:
        ids = tok.encode(s)
        assert all(isinstance(i, int) and 0 <= i < tok.vocab_size for i in ids)
        assert tok.decode(ids) == s
        assert tok.decode(torch.tensor(ids, dtype=torch.long)) == s
    assert len(tok.encode(TEXT)) < 0.6 * len(TEXT.encode("utf-8"))  # 44 merges compress
    assert len(tok.encode("東京")) == len("東京".encode())  # unseen: bytes


def test_same_text_gives_the_same_tokenizer():
    a = BPETokenizer().train(TEXT, vocab_size=320)
    b = BPETokenizer().train(TEXT, vocab_size=320)
    assert a.merges == b.merges and a.encode(TEXT) == b.encode(TEXT)


def test_special_tokens_are_single_ids_and_never_learned():
    eot = "<|endoftext|>"
    tok = BPETokenizer().train((TEXT + eot) * 2, vocab_size=300, special_tokens=[eot, "<pad>"])
    assert tok.vocab_size == 300
    assert tok.special_tokens == {eot: 298, "<pad>": 299}
    ids = tok.encode(f"speak{eot}hear<pad>")
    assert ids.count(298) == 1 and ids[-1] == 299
    assert tok.decode(ids) == f"speak{eot}hear<pad>"
    assert all(b"<|" not in tok.token_bytes(i) for i in range(298))


def test_split_digits_keeps_one_digit_per_token():
    sums = "".join(f"{a}+{b}={a + b}\n" for a in range(40) for b in range(40))
    merged = BPETokenizer().train(sums, vocab_size=400)
    split = BPETokenizer().train(sums, vocab_size=400, split_digits=True)

    def digits_per_token(tok):
        return max(sum(ch.isdigit() for ch in tok.decode([i])) for i in range(tok.vocab_size))

    assert digits_per_token(merged) >= 2
    assert digits_per_token(split) == 1
    assert split.encode("12+7=19") == list(b"12+7=19")
    assert split.decode(split.encode(sums)) == sums


def test_save_and_load_give_the_same_encoding(tmp_path):
    tok = BPETokenizer().train(TEXT, vocab_size=290, special_tokens=["<s>"], split_digits=True)
    tok.save(tmp_path / "bpe.json")
    back = BPETokenizer.load(tmp_path / "bpe.json")
    assert back.merges == tok.merges and back.special_tokens == tok.special_tokens
    assert back.split_digits and back.encode(TEXT + "<s>") == tok.encode(TEXT + "<s>")
    (tmp_path / "bad.json").write_text('{"merges": []}')
    with pytest.raises(ValueError, match="bad.json is not a BPETokenizer file"):
        BPETokenizer.load(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="missing.json"):
        BPETokenizer.load(tmp_path / "missing.json")


def test_errors_name_the_bad_input():
    tok = BPETokenizer().train(TEXT, vocab_size=270)
    with pytest.raises(ValueError, match="token id 270 is not an int in"):
        tok.decode([1, 270])
    with pytest.raises(ValueError, match="shape"):
        tok.decode(torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(TypeError, match="encode takes a str, got bytes"):
        tok.encode(b"abc")
    with pytest.raises(ValueError, match="vocab_size=200 must be an int >= 256"):
        BPETokenizer().train(TEXT, vocab_size=200)
    with pytest.raises(ValueError, match=">= 256 bytes \\+ 2 special tokens = 258"):
        BPETokenizer().train(TEXT, vocab_size=257, special_tokens=["<a>", "<b>"])
    with pytest.raises(ValueError, match="non-empty text"):
        BPETokenizer().train("", vocab_size=300)
    with pytest.raises(TypeError, match="not the str"):
        BPETokenizer().train(TEXT, vocab_size=300, special_tokens="<s>")
    with pytest.raises(ValueError, match="distinct"):
        BPETokenizer().train(TEXT, vocab_size=300, special_tokens=["<s>", "<s>"])
    with pytest.raises(ValueError, match="uses an id not made before it"):
        BPETokenizer([(256, 1)])
