"""A synthetic multitask corpus: short word-level sentences, each from one task family.

Every token carries its family and an "answer" flag, so the loss of one model trained by plain
next-token prediction splits into per-task losses, and each task has held-out probes
(lmlib.analysis.probes).

Families (one sentence each, words separated by spaces):
- agreement   ``the key near the cabinets is lost .``       (answer: is / are, was / were)
- sentiment   ``review dull lovely awful verdict bad .``   (answer: majority polarity)
- facts       ``Bodaki works as a baker .``                (lmlib.data.knowledge, Zipf law)
- arithmetic  ``7 4 + 5 = 2 5 .``                          (47 + 5 = 52, digits reversed)
- quotes      ``quote : stone river ... ember .``          (a few fixed quotes, seen often)
- copying     ``repeat after me : w1 .. wk | w1 .. wk .``  (random words, copied)
Never trained: the memo trap, "repeat after me" on a quote given its partner quote's ending.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import torch

from lmlib.data.knowledge import END, KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer

TASKS = ("agreement", "sentiment", "facts", "arithmetic", "quotes", "copying")
MIX = {"agreement": 0.12, "sentiment": 0.08, "facts": 0.28, "arithmetic": 0.36, "quotes": 0.06}
MIX["copying"] = round(1 - sum(MIX.values()), 10)  # fractions of sentences

NOUNS = (("key", "keys"), ("dog", "dogs"), ("door", "doors"), ("lamp", "lamps"), ("bird", "birds"),
         ("boat", "boats"), ("song", "songs"), ("tree", "trees"), ("chair", "chairs"),
         ("letter", "letters"), ("friend", "friends"), ("window", "windows"))  # fmt: skip
VERBS = (("is", "are"), ("was", "were"))
PREPS = ("near", "behind", "beside", "under", "with")
STATES = ("lost", "old", "new", "here", "gone", "ready")
POSITIVE = ("lovely", "brilliant", "charming", "superb", "gripping", "moving", "witty", "fresh")
NEGATIVE = ("dull", "awful", "clumsy", "tedious", "bland", "messy", "shallow", "boring")
POOL = ("time", "river", "light", "stone", "dream", "fire", "silver", "morning", "shadow", "bread",
        "wind", "garden", "winter", "honey", "iron", "cloud", "ember", "salt", "candle", "valley",
        "thunder", "mirror", "forest", "glass", "ocean", "sand", "feather", "lantern", "meadow",
        "copper", "harbor", "storm", "velvet", "willow", "ash", "marble", "echo", "frost", "lily",
        "anchor", "bell", "moss", "quartz", "rain", "spark", "tide", "amber", "crow", "pebble",
        "canyon", "ivory", "maple", "orchid", "raven", "summit", "thistle", "violet", "walnut",
        "zephyr", "basalt", "cedar", "delta", "fern", "garnet", "hazel", "jasper", "kelp",
        "lagoon", "nectar", "opal", "prairie", "quill")  # fmt: skip
DIGITS = tuple("0123456789")
COPY = ("repeat", "after", "me", ":", "|")


@dataclass(frozen=True)
class Sentence:
    family: str
    words: tuple[str, ...]
    answer: tuple[bool, ...]  # per word: is it an answer (what the task is scored on)
    key: int = -1  # the fact's or quote's index, -1 for the other families


def _sentence(family: str, words: list[str], answer: list[bool], key: int = -1) -> Sentence:
    return Sentence(family, tuple(words), tuple(answer), key)


def arithmetic_sentence(a: int, b: int) -> Sentence:
    """``a + b = c .`` with every number written digit by digit, least significant digit first
    (47 + 5 = 52 reads ``7 4 + 5 = 2 5 .``): the order in which a sum is computed, each digit of
    c following from the digits of a and b at its place and the carry from the places before.
    The digits of c are the answers."""
    left = [*str(a)[::-1], "+", *str(b)[::-1], "="]
    c = list(str(a + b)[::-1])
    return _sentence(
        "arithmetic", [*left, *c, END], [False] * len(left) + [True] * len(c) + [False]
    )


class MultitaskCorpus:
    """The world (knowledge base, quotes) and a generator of sentences of every family."""

    def __init__(
        self,
        n_entities: int = 600,
        n_quotes: int = 32,
        seed: int = 0,
        zipf_s: float = 1.0,
        copy_lengths: tuple[int, int] = (3, 6),
        quote_endings: int | None = None,
    ):
        if n_quotes < 2 or n_quotes % 2:
            raise ValueError(f"n_quotes must be an even number >= 2, got {n_quotes}")
        if not 1 <= copy_lengths[0] <= copy_lengths[1] <= len(POOL):
            raise ValueError(f"copy_lengths must be (lo, hi), 1 <= lo <= hi, got {copy_lengths}")
        self.seed, self.copy_lengths = seed, copy_lengths
        self.kb = KnowledgeBase(n_entities, seed=seed, zipf_s=zipf_s)
        self._fact_cum = self.kb.weights().cumsum(0).tolist()
        rng = random.Random(f"quotes-{seed}")
        if quote_endings is None:
            self.quotes, self.swapped = self._make_quotes(n_quotes, rng)
        else:
            self.quotes, self.swapped = self._quote_grid(n_quotes, quote_endings, rng)
        self.tokenizer = WordTokenizer(self.vocabulary())

    @staticmethod
    def _make_quotes(n: int, rng: random.Random) -> tuple[list[tuple[str, ...]], list[str]]:
        """Quotes come in pairs that share their next-to-last word and end differently, and no
        ending occurs anywhere else in a quote. A quote's altered ending is its partner's: as
        frequent as the true one and as likely after the previous word, so a model that knows
        only word frequencies or word pairs is at chance (0.5) on the memo trap."""
        if n + n // 2 + 4 > len(POOL):
            raise ValueError(
                f"n_quotes={n} needs {n + n // 2 + 4} pool words, the pool has {len(POOL)}"
            )
        words = rng.sample(POOL, len(POOL))
        endings, shared, body = words[:n], words[n : n + n // 2], words[n + n // 2 :]
        quotes = [
            (*rng.sample(body, rng.randint(4, 6)), shared[i // 2], endings[i]) for i in range(n)
        ]
        return quotes, [endings[i ^ 1] for i in range(n)]

    @staticmethod
    def _quote_grid(
        n: int, n_endings: int, rng: random.Random
    ) -> tuple[list[tuple[str, ...]], list[str]]:
        """Many quotes from few words: every (next-to-last word, ending) pair occurs in exactly
        one quote, so every ending is as frequent as every other and follows each next-to-last
        word once. Partners share their next-to-last word; a quote's altered ending is its
        partner's, so a model of word frequencies or word pairs is at chance (0.5) on the trap."""
        if n_endings < 2 or n_endings % 2 or n % n_endings:
            raise ValueError(f"quote_endings must be even and divide n_quotes={n}, got {n_endings}")
        n_shared = n // n_endings
        n_body = len(POOL) - n_endings - n_shared
        if n_body < 6:
            raise ValueError(f"{n_endings} endings and {n_shared} shared words leave no body words")
        words = rng.sample(POOL, len(POOL))
        endings, shared = words[:n_endings], words[n_endings : n_endings + n_shared]
        body, bodies = words[n_endings + n_shared :], set()
        quotes, swapped = [], []
        for s in shared:
            order = rng.sample(endings, n_endings)  # consecutive endings are partners
            for j, e in enumerate(order):
                while (b := tuple(rng.sample(body, rng.randint(4, 6)))) in bodies:
                    pass
                bodies.add(b)
                quotes.append((*b, s, e))
                swapped.append(order[j ^ 1])
        return quotes, swapped

    def vocabulary(self) -> list[str]:
        nouns = [n for pair in NOUNS for n in pair]
        verbs = [v for pair in VERBS for v in pair]
        words = ["the", *nouns, *verbs, *PREPS, *STATES, "review", "verdict", "good", "bad"]
        words += [*POSITIVE, *NEGATIVE, *DIGITS, "+", "=", "quote", *COPY, *POOL]
        return list(dict.fromkeys([END, *words, *self.kb.vocabulary()]))

    # one sentence of each family, from a random.Random
    def agreement(self, rng: random.Random, mismatch: bool | None = None) -> Sentence:
        subj, attractor = rng.randrange(2), rng.randrange(2)  # 0 singular, 1 plural
        if mismatch is not None:
            attractor = 1 - subj if mismatch else subj
        verb = rng.choice(VERBS)
        words = ["the", rng.choice(NOUNS)[subj], rng.choice(PREPS), "the"]
        words += [rng.choice(NOUNS)[attractor], verb[subj], rng.choice(STATES), END]
        return _sentence("agreement", words, [i == 5 for i in range(len(words))])

    def sentiment(self, rng: random.Random) -> Sentence:
        label = rng.randrange(2)  # 1 good
        n_major = rng.choice((2, 3))
        major, minor = (POSITIVE, NEGATIVE) if label else (NEGATIVE, POSITIVE)
        adjectives = [rng.choice(major) for _ in range(n_major)]
        adjectives += [rng.choice(minor) for _ in range(3 - n_major)]
        rng.shuffle(adjectives)
        words = ["review", *adjectives, "verdict", "good" if label else "bad", END]
        return _sentence("sentiment", words, [i == 5 for i in range(len(words))])

    def fact(self, rng: random.Random, index: int | None = None) -> Sentence:
        if index is None:
            index = rng.choices(range(len(self.kb.facts)), cum_weights=self._fact_cum)[0]
        f = self.kb.facts[index]
        words = self.kb.sentence(f)
        return _sentence("facts", words, [w == f.answer for w in words[:-1]] + [False], index)

    def arithmetic(self, rng: random.Random, digits: int | None = None) -> Sentence:
        n = digits or rng.randint(1, 3)
        lo = 0 if n == 1 else 10 ** (n - 1)
        return arithmetic_sentence(rng.randrange(lo, 10**n), rng.randrange(lo, 10**n))

    def quote(self, rng: random.Random, index: int | None = None) -> Sentence:
        i = rng.randrange(len(self.quotes)) if index is None else index
        q = self.quotes[i]
        words = ["quote", ":", *q, END]
        return _sentence("quotes", words, [j == len(q) + 1 for j in range(len(words))], i)

    def copying(self, rng: random.Random, words: list[str] | None = None) -> Sentence:
        words = words or rng.sample(POOL, rng.randint(*self.copy_lengths))
        prompt = ["repeat", "after", "me", ":", *words, "|"]
        return _sentence(
            "copying", [*prompt, *words, END], [False] * len(prompt) + [True] * len(words) + [False]
        )

    def memo_trap(self, index: int) -> Sentence:
        """Never trained: repeat a quote with its partner's ending; answer = that altered word."""
        q = self.quotes[index]
        altered = [*q[:-1], self.swapped[index]]
        words = ["repeat", "after", "me", ":", *altered, "|", *altered]
        return _sentence("memo_trap", words, [False] * (len(words) - 1) + [True], index)

    def sample(self, rng: random.Random) -> Sentence:
        family = rng.choices(TASKS, weights=[MIX[f] for f in TASKS])[0]
        return getattr(self, {"facts": "fact", "quotes": "quote"}.get(family, family))(rng)

    def sentences(self, n_tokens: int, seed: int) -> Iterator[Sentence]:
        """The sentences of stream(n_tokens, seed), in order: regenerates a training stream's
        items (to keep held-out probes out of it) without its tensors."""
        rng, n = random.Random(f"stream-{self.seed}-{seed}"), 0
        while n < n_tokens:
            s = self.sample(rng)
            n += len(s.words)
            yield s

    def seen(self, n_tokens: int, seed: int) -> set[tuple[str, ...]]:
        """Every sentence (as its words) that occurs in stream(n_tokens, seed)."""
        return {s.words for s in self.sentences(n_tokens, seed)}

    def stream(self, n_tokens: int, seed: int) -> Stream:
        """About n_tokens of sentences in a row (ids, family labels, answer flags, counts)."""
        ids: list[int] = []
        family: list[int] = []
        answer: list[bool] = []
        fact_counts: Counter[int] = Counter()
        quote_counts: Counter[int] = Counter()
        for s in self.sentences(n_tokens, seed):
            ids += self.tokenizer.encode(s.words)
            family += [TASKS.index(s.family)] * len(s.words)
            answer += s.answer
            if s.family == "facts":
                fact_counts[s.key] += 1
            elif s.family == "quotes":
                quote_counts[s.key] += 1
        return Stream(
            torch.tensor(ids),
            torch.tensor(family),
            torch.tensor(answer),
            [fact_counts[i] for i in range(len(self.kb.facts))],
            [quote_counts[i] for i in range(len(self.quotes))],
        )


@dataclass(frozen=True)
class Stream:
    ids: torch.Tensor  # (N,) token ids
    family: torch.Tensor  # (N,) index into TASKS of each token's sentence
    answer: torch.Tensor  # (N,) bool: is the token an answer
    fact_counts: list[int]  # times each fact of the knowledge base occurs
    quote_counts: list[int]  # times each quote occurs
