import random

import pytest

from lmlib.analysis.context_tasks import TASKS, ContextWorld, bag_of_words_accuracy
from lmlib.data.multitask import NEGATIVE, POSITIVE, VERBS
from lmlib.training.finetune import Split, Task

WORLD = ContextWorld(12)
TASK_SET = WORLD.tasks(400, 400)


def words(split: Split, k: int, i: int) -> list[str]:
    return WORLD.tokenizer.decode(split.x[k][i].tolist())


def examples(split: Split):
    for k, x in enumerate(split.x):
        for i in range(len(x)):
            yield words(split, k, i), int(split.pos[k][i]), int(split.y[k][i])


def test_each_task_is_what_it_says():
    assert set(TASK_SET) == set(TASKS)
    polarity = {**{w: 1 for w in POSITIVE}, **{w: 0 for w in NEGATIVE}}
    for w, pos, y in examples(TASK_SET["agreement"].test):
        assert w[pos] in {v for pair in VERBS for v in pair}
        subj, attractor = w[1].endswith("s"), w[4].endswith("s")
        assert subj != attractor  # every sentence has an attractor of the other number
        assert y == int((w[pos] in ("are", "were")) == subj)  # 1: the verb agrees
    for w, pos, y in examples(TASK_SET["negation"].train):
        adjectives = [x for x in w if x in polarity]
        assert w[pos] == "verdict" and sorted(map(polarity.get, adjectives)) == [0, 1]
        said = w[w.index("but") + 1] if "but" in w else w[1]
        assert y == polarity[said]
    people = {name for name in WORLD.kb.subjects}
    for split, relations in (("train", {"home", "pet", "color"}), ("test", {"job"})):
        for w, pos, y in examples(getattr(TASK_SET["facts"], split)):
            fact = next(
                f
                for f in WORLD.kb.facts
                if f.relation in relations and WORLD.kb.prompt(f) == w[:pos]
            )
            assert fact.subject in people and y == int(w[pos] == fact.answer)


def test_a_bag_of_words_is_at_chance_on_every_task_but_not_on_a_bag_task():
    V = WORLD.tokenizer.vocab_size
    for name, task in TASK_SET.items():
        assert abs(bag_of_words_accuracy(task, V) - 0.5) < 0.08, name
    rng = random.Random(0)  # reviews with one adjective: the bag of words solves them
    plain = [WORLD.review(rng, "plain") for _ in range(800)]
    train, test = (
        Split.from_examples([(WORLD.tokenizer.encode(w), 0, y) for w, y in part])
        for part in (plain[:400], plain[400:])
    )
    assert bag_of_words_accuracy(Task("plain", train, test), V) > 0.95


def test_the_stream_holds_every_family_and_repeats_with_a_seed():
    ids = WORLD.stream(3000, seed=1)
    text = WORLD.tokenizer.decode(ids.tolist())
    assert {"review", "not", "but", "verdict", "the", "works"} <= set(text)
    assert ids.tolist() == WORLD.stream(3000, seed=1).tolist()
    assert ids.tolist() != WORLD.stream(3000, seed=2).tolist()
    with pytest.raises(ValueError, match="n_people"):
        ContextWorld(1)
    with pytest.raises(ValueError, match="n_train"):
        WORLD.tasks(1, 10)
