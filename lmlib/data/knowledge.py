"""A synthetic knowledge base: made-up people, a few relations, a Zipf law over who is mentioned.

Real text mentions a few entities constantly and most almost never ("tail knowledge"). Here entity
rank r (1 = most frequent) is mentioned with probability proportional to r^-s, so a model trained
on sampled sentences sees head facts thousands of times and tail facts once or never.

Each fact is a sentence such as ``Bodaki works as a baker .``; the answer word comes right after
``prompt(fact)``. Answers are drawn independently of the name's spelling, so the only way to get a
fact right is to have memorised it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import torch

# relation -> (words around the subject, with "{}" where the subject goes; candidate answers)
RELATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "home": (
        ("{}", "lives", "in"),
        ("paris", "tokyo", "cairo", "lima", "oslo", "delhi", "rome", "quito", "dakar", "seoul"),
    ),
    "job": (
        ("{}", "works", "as", "a"),
        (
            "baker",
            "nurse",
            "pilot",
            "farmer",
            "judge",
            "tailor",
            "miner",
            "potter",
            "sailor",
            "cook",
        ),
    ),
    "pet": (
        ("{}", "keeps", "a", "pet"),
        ("cat", "dog", "goat", "owl", "frog", "horse", "parrot", "rabbit", "snake", "turtle"),
    ),
    "color": (
        ("the", "favourite", "colour", "of", "{}", "is"),
        ("red", "blue", "green", "yellow", "purple", "orange", "black", "white", "grey", "pink"),
    ),
}
END = "."  # the end-of-sentence word

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


@dataclass(frozen=True)
class Fact:
    subject: str
    relation: str
    answer: str
    rank: int  # rank of the subject by frequency; 1 = most frequent


def entity_names(n: int, seed: int = 0) -> list[str]:
    """n distinct pronounceable made-up names (2 or 3 consonant-vowel syllables), from a seed."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = random.Random(f"names-{seed}")
    reserved = {w for words, answers in RELATIONS.values() for w in (*words, *answers)}
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        syllables = rng.choice((2, 3, 3))
        name = "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))
        if name not in seen and name not in reserved:
            seen.add(name)
            names.append(name.capitalize())
    return names


class KnowledgeBase:
    """n_entities subjects x every relation = the facts; subject rank r is sampled ~ r^-zipf_s."""

    def __init__(self, n_entities: int, seed: int = 0, zipf_s: float = 1.0):
        if n_entities < 1:
            raise ValueError(f"n_entities must be >= 1, got {n_entities}")
        if zipf_s < 0:
            raise ValueError(f"zipf_s must be >= 0 (0 = uniform), got {zipf_s}")
        self.n_entities, self.seed, self.zipf_s = n_entities, seed, zipf_s
        self.subjects = entity_names(n_entities, seed)  # subjects[r - 1] has rank r
        self.relations: dict[str, list[str]] = {r: list(a) for r, (_, a) in RELATIONS.items()}
        rng = random.Random(f"answers-{seed}")  # independent of the names' spelling
        self.facts: list[Fact] = [
            Fact(subject, relation, rng.choice(answers), rank)
            for rank, subject in enumerate(self.subjects, start=1)
            for relation, answers in self.relations.items()
        ]

    def __len__(self) -> int:
        return len(self.facts)

    def subject_weights(self) -> torch.Tensor:
        """(n_entities,) probability that a sentence is about the subject of rank 1, 2, ..."""
        ranks = torch.arange(1, self.n_entities + 1, dtype=torch.float64)
        w = ranks ** (-self.zipf_s)
        return w / w.sum()

    def weights(self) -> torch.Tensor:
        """(len(facts),) sampling probability of each fact: its subject's share, split evenly."""
        per_fact = self.subject_weights().repeat_interleave(len(self.relations))
        return per_fact / per_fact.sum()

    def sample(self, n: int, generator: torch.Generator) -> list[Fact]:
        """n facts drawn with replacement according to weights()."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            return []
        idx = torch.multinomial(self.weights(), n, replacement=True, generator=generator)
        return [self.facts[i] for i in idx.tolist()]

    def prompt(self, fact: Fact) -> list[str]:
        """The words that come right before the answer, e.g. ['Bodaki', 'works', 'as', 'a']."""
        if fact.relation not in RELATIONS:
            raise ValueError(f"unknown relation {fact.relation!r}; known: {list(RELATIONS)}")
        words = RELATIONS[fact.relation][0]
        return [fact.subject if w == "{}" else w for w in words]

    def sentence(self, fact: Fact) -> list[str]:
        """prompt + [answer] + ['.']."""
        return [*self.prompt(fact), fact.answer, END]

    def vocabulary(self) -> list[str]:
        """Every word a prompt or sentence can contain, in a fixed order."""
        words = [w for ws, _ in RELATIONS.values() for w in ws if w != "{}"]
        answers = [a for r in self.relations.values() for a in r]
        return list(dict.fromkeys([*words, *answers, END, *self.subjects]))
