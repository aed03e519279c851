"""Three tasks that need context, and the text an encoder is pretrained on before meeting them.

Dims: N examples, V vocabulary.

The pretraining text mixes three families of sentences (lmlib.data.multitask's words):
- agreement ``the key near the cabinets is lost .`` (the attractor noun's number is random);
- reviews, with negation: ``review dull verdict bad .``, ``review not dull verdict good .``,
  ``review not dull but lovely verdict good .``, ``review lovely and not dull verdict good .``;
- facts about a fixed set of people, every person as often as every other.
The tasks, each example a sentence, a position to read and a label:
- agreement: every sentence has an attractor of the other number; half of the verbs are
  flipped; read at the verb. Is the verb right?
- negation: ``review not dull but lovely verdict`` or ``review lovely and not dull verdict``, the
  two adjectives of opposite polarity; read at ``verdict``. Is the review good?
- facts: ``Bodaki works as a baker .``, true or with another answer of the same relation; read
  at the answer. Trained on three relations of the people, tested on the fourth (their jobs):
  the people are the ones of the pretraining text, the relation is new to the fine-tuning.
A bag of words cannot solve any of them: each sentence's bag is as likely under either label
(the words are the same, only their order or pairing differs). `bag_of_words_accuracy` checks it.
"""

from __future__ import annotations

import random

import torch
from torch import Tensor

from lmlib.analysis.mini_glue import linear_probe
from lmlib.data.knowledge import END
from lmlib.data.multitask import NEGATIVE, POSITIVE, VERBS, MultitaskCorpus
from lmlib.data.tokenizer import WordTokenizer
from lmlib.training.finetune import Split, Task

TASKS = ("agreement", "negation", "facts")
MIX = {"agreement": 0.3, "reviews": 0.3, "facts": 0.4}  # shares of the pretraining sentences
TEMPLATES = ("plain", "not", "not_but", "and_not")
TEST_RELATION = "job"


class ContextWorld:
    """The people, the vocabulary, the pretraining text and the tasks."""

    def __init__(self, n_people: int, seed: int = 0):
        if n_people < 2:
            raise ValueError(f"n_people must be >= 2, got {n_people}")
        self.corpus = MultitaskCorpus(n_people, seed=seed, zipf_s=0.0)  # every person as often
        self.kb = self.corpus.kb
        self.tokenizer = WordTokenizer([*self.corpus.vocabulary(), "not", "but", "and"])

    def review(self, rng: random.Random, template: str) -> tuple[list[str], int]:
        """A review up to ``verdict`` and its label (1 good)."""
        label = rng.randrange(2)
        good, bad = rng.choice(POSITIVE), rng.choice(NEGATIVE)
        said, denied = (good, bad) if label else (bad, good)
        words = {
            "plain": [said],
            "not": ["not", denied],
            "not_but": ["not", denied, "but", said],
            "and_not": [said, "and", "not", denied],
        }[template]
        return ["review", *words, "verdict"], label

    def sentence(self, rng: random.Random) -> list[str]:
        family = rng.choices(list(MIX), weights=list(MIX.values()))[0]
        if family == "agreement":
            return list(self.corpus.agreement(rng).words)
        if family == "reviews":
            words, label = self.review(rng, rng.choice(TEMPLATES))
            return [*words, "good" if label else "bad", END]
        return self.kb.sentence(self.kb.facts[rng.randrange(len(self.kb.facts))])

    def stream(self, n_tokens: int, seed: int = 0) -> Tensor:
        """(N,) ids: about n_tokens of pretraining sentences in a row."""
        rng, ids = random.Random(f"context-stream-{seed}"), []
        while len(ids) < n_tokens:
            ids += self.tokenizer.encode(self.sentence(rng))
        return torch.tensor(ids)

    def _agreement(self, rng: random.Random) -> tuple[list[str], int, int]:
        words = list(self.corpus.agreement(rng, mismatch=True).words)
        ok = rng.random() < 0.5
        if not ok:
            pair = next(p for p in VERBS if words[5] in p)
            words[5] = pair[1 - pair.index(words[5])]
        return words, 5, int(ok)

    def _negation(self, rng: random.Random) -> tuple[list[str], int, int]:
        words, label = self.review(rng, rng.choice(("not_but", "and_not")))
        return words, len(words) - 1, label

    def _fact(self, rng: random.Random, relations: list[str]) -> tuple[list[str], int, int]:
        relation = rng.choice(relations)
        person = rng.randrange(self.kb.n_entities)
        fact = self.kb.facts[
            person * len(self.kb.relations) + list(self.kb.relations).index(relation)
        ]
        words = self.kb.sentence(fact)
        true = rng.random() < 0.5
        if not true:
            words[-2] = rng.choice([a for a in self.kb.relations[relation] if a != fact.answer])
        return words, len(words) - 2, int(true)

    def tasks(self, n_train: int, n_test: int, seed: int = 0) -> dict[str, Task]:
        """The three tasks with n_train training and n_test held-out examples each."""
        if n_train < 2 or n_test < 2:
            raise ValueError(f"need n_train, n_test >= 2, got {n_train}, {n_test}")
        others = [r for r in self.kb.relations if r != TEST_RELATION]
        make = {
            "agreement": lambda rng, split: self._agreement(rng),
            "negation": lambda rng, split: self._negation(rng),
            "facts": lambda rng, split: self._fact(
                rng, [TEST_RELATION] if split == "test" else others
            ),
        }
        out = {}
        for name in TASKS:
            splits = []
            for split, n in (("train", n_train), ("test", n_test)):
                rng = random.Random(f"context-{name}-{split}-{seed}")
                examples = [make[name](rng, split) for _ in range(n)]
                splits.append(
                    Split.from_examples([(self.tokenizer.encode(w), p, y) for w, p, y in examples])
                )
            out[name] = Task(name, *splits)
        return out


def bag_of_words(split: Split, vocab_size: int) -> tuple[Tensor, Tensor]:
    """(N, V) word counts of every sentence of the split, and (N,) labels."""
    counts = [
        torch.zeros(len(x), vocab_size, dtype=torch.float64).scatter_add_(
            1, x, torch.ones(x.shape, dtype=torch.float64)
        )
        for x in split.x
    ]
    return torch.cat(counts), torch.cat(split.y)


def bag_of_words_accuracy(task: Task, vocab_size: int) -> float:
    """Held-out accuracy of a logistic regression on word counts (the order thrown away)."""
    train_f, train_y = bag_of_words(task.train, vocab_size)
    test_f, test_y = bag_of_words(task.test, vocab_size)
    return linear_probe(train_f, train_y, test_f, test_y)
