"""Lab 3.3, tokenization: the merge step of byte-pair encoding, the encoder that applies learned
merges, and bits per byte.

Ids are plain lists of ints: 0..255 are bytes, 256 and up are merges in the order learned.
"""

from __future__ import annotations

from collections import Counter

import torch

from lmlib.data.bpe import chunks, encode_chunk, learn_merges, merge
from lmlib.grading.spec import Case, Exercise, draw
from lmlib.training.loss import bits_per_byte

LAB = "3_3_tokenization"

_TEXT = (
    "the theme of these three theses: then there, the other three. 1234 1212 banana bandana "
    "aaaa abab abcabc"
)


def _merge_cases(rng: torch.Generator) -> list[Case]:
    cases = [
        Case(([1, 1, 1, 2], (1, 1), 9)),  # occurrences do not overlap, leftmost first
        Case(([1, 1, 1, 1], (1, 1), 9)),
        Case(([1, 2, 3, 1, 2], (1, 2), 7)),  # every occurrence, the last one at the end
        Case(([3, 1, 2], (2, 1), 7)),  # the reversed pair is not the pair
        Case(([5], (5, 5), 256)),
        Case(([], (1, 2), 256)),
        Case(([4, 4], (4, 4), 300)),
    ]
    for n in (12, 30, 60, draw(rng, 65, 300)):  # the last one longer than any example
        ids = torch.randint(0, 3, (n,), generator=rng).tolist()  # 3 symbols: pairs repeat
        pair = tuple(torch.randint(0, 3, (2,), generator=rng).tolist())
        cases.append(Case((ids, pair, 256 + n)))
    return cases


def _learned() -> dict[tuple[int, int], int]:
    words = Counter(c.encode("utf-8") for c in chunks(_TEXT))
    return {p: 256 + i for i, p in enumerate(learn_merges(words, 40))}


def _encode_cases(rng: torch.Generator) -> list[Case]:
    order = {(98, 99): 256, (97, 98): 257, (97, 256): 258}  # bc first, then ab, then a(bc)
    shuffled = {(97, 98): 257, (256, 99): 258, (98, 99): 256}  # listed out of learned order
    cases = [
        Case((list(b"abc"), order)),  # the earliest-learned pair first, not the leftmost
        Case((list(b"abcab"), order)),
        Case((list(b"abc"), shuffled)),
        Case((list(b"ab"), {(97, 98): 256})),
        Case((list(b"a"), order)),
        Case(([], order)),
        Case((list(b"xyz"), order)),  # no merge applies
        Case((list(b"abababab"), {(97, 98): 256, (256, 256): 257, (257, 257): 258})),
    ]
    n = draw(rng, 20, 60)  # a chain of n - 1 merges, each on the last: one token at the end
    chain = {(0 if b == 1 else 254 + b, b): 255 + b for b in range(1, n)}
    cases.append(Case((list(range(n)) + [0, 1, 2], chain)))
    learned = _learned()
    for chunk in chunks(_TEXT)[::3] + [" thesis", "aaaaaaa", " 121212"]:
        cases.append(Case((list(chunk.encode("utf-8")), learned)))
    return cases


def _bpb_cases(rng: torch.Generator) -> list[Case]:
    cases = [Case((1.0, 100, 100)), Case((2.5, 40, 100)), Case((4.0, 300, 1000))]
    for _ in range(3):
        loss = 0.5 + 4 * torch.rand((), generator=rng).item()
        n_bytes = int(torch.randint(100, 10_000, (), generator=rng))
        n_tokens = int(torch.randint(10, n_bytes, (), generator=rng))
        cases.append(Case((loss, n_tokens, n_bytes)))
    return cases


def _ids_twin(case: Case, rng: torch.Generator) -> Case | None:
    """The same ids in a fresh order (same length, other pairs), the other arguments as they
    were; None for fewer than two ids."""
    ids, *rest = case.args
    if len(ids) < 2:
        return None
    order = torch.randperm(len(ids), generator=rng).tolist()
    return Case(([ids[i] for i in order], *rest))


def _bpb_twin(case: Case, rng: torch.Generator) -> Case:
    """The same counts of tokens and bytes, another loss."""
    loss, n_tokens, n_bytes = case.args
    return Case((loss * 0.5 + 0.25, n_tokens, n_bytes))


EXERCISES = [
    Exercise(
        name="merge",
        cases=_merge_cases,
        reference=merge,
        twin=_ids_twin,
        rules="Return a new list of ints: each occurrence of pair, scanning left to right, "
        "replaced by new_id; occurrences never overlap.",
    ),
    Exercise(
        name="encode_chunk",
        cases=_encode_cases,
        reference=encode_chunk,
        twin=_ids_twin,
        rules="merges maps a pair to the id it became, smaller ids learned earlier: apply the "
        "earliest-learned pair present, every occurrence, until none applies; return a list.",
    ),
    Exercise(
        name="bits_per_byte",
        cases=_bpb_cases,
        reference=bits_per_byte,
        twin=_bpb_twin,
        rules="loss is nats per token; return bits per byte of text as a float.",
    ),
]
