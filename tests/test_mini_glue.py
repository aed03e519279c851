import pytest
import torch

from lmlib.analysis.mini_glue import TASKS, evaluate, few_shot_accuracy, linear_probe, make_tasks
from lmlib.data.multitask import VERBS, MultitaskCorpus
from lmlib.models.encoder import Encoder
from lmlib.models.transformer import TransformerConfig


@pytest.fixture(scope="module")
def world():
    corpus = MultitaskCorpus(n_entities=20)
    return corpus, make_tasks(corpus, 64, 64, n_people=20)


def test_tasks_are_balanced_fixed_length_and_seeded(world):
    corpus, tasks = world
    assert set(tasks) == set(TASKS)
    for t in tasks.values():
        assert t.train_x.shape[0] == t.test_x.shape[0] == 64
        assert 0.3 < t.train_y.float().mean().item() < 0.7
    again = make_tasks(corpus, 64, 64, n_people=20)
    assert torch.equal(again["agreement"].test_x, tasks["agreement"].test_x)


def test_labels_mean_what_they_say(world):
    corpus, tasks = world
    words = corpus.tokenizer.decode
    for x, y in zip(tasks["agreement"].test_x, tasks["agreement"].test_y):
        w = words(x)
        plural_subject, plural_verb = w[1].endswith("s"), w[5] in [v[1] for v in VERBS]
        assert (plural_subject == plural_verb) == bool(y)
    for x, y in zip(tasks["sentiment"].test_x, tasks["sentiment"].test_y):
        w = words(x)
        positive = sum(a in ("lovely", "brilliant", "charming", "superb", "gripping", "moving",
                             "witty", "fresh") for a in w[1:4])  # fmt: skip
        assert (positive >= 2) == bool(y) and "good" not in w and "bad" not in w
    kb = corpus.kb
    for x, y in zip(tasks["facts"].test_x, tasks["facts"].test_y):
        w = words(x)
        rank = kb.subjects.index(w[0])
        assert rank % 2 == 1  # odd ranks are the test people
        fact = next(f for f in kb.facts if f.subject == w[0] and f.relation == "job")
        assert (fact.answer == w[-2]) == bool(y)


def test_probe_separates_separable_data_and_few_shot_is_balanced():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (200,), generator=g)
    f = torch.randn(200, 5, generator=g, dtype=torch.double) + 3 * y[:, None]
    assert linear_probe(f[:100], y[:100], f[100:], y[100:]) > 0.95
    assert few_shot_accuracy(f[:100], y[:100], f[100:], y[100:], shots=4, draws=3) > 0.9
    noise = torch.randn(200, 5, generator=g, dtype=torch.double)
    assert few_shot_accuracy(noise[:100], y[:100], noise[100:], y[100:], 8, 4) < 0.7


def test_evaluate_an_encoder_and_errors(world):
    corpus, tasks = world
    enc = Encoder(TransformerConfig(corpus.tokenizer.vocab_size, 16, 16, 2, 1, causal=False))
    scores = evaluate(enc, tasks, shots=8, draws=2)
    assert set(scores) == {*TASKS, "score"} and all(0 <= v <= 1 for v in scores.values())
    assert scores == evaluate(enc, tasks, shots=8, draws=2)
    with pytest.raises(ValueError, match="shots"):
        evaluate(enc, tasks, shots=3)
    with pytest.raises(ValueError, match="n_people"):
        make_tasks(corpus, n_people=500)
