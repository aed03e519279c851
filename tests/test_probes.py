import pytest
import torch

from lmlib import TransformerConfig, TransformerLM
from lmlib.analysis.probes import (
    exact_match,
    facts_by_count,
    make_probe,
    probe_scores,
    run_probe,
    standard_probes,
    task_losses,
)
from lmlib.data.multitask import TASKS, MultitaskCorpus


@pytest.fixture(scope="module")
def corpus():
    return MultitaskCorpus(n_entities=20, n_quotes=4, seed=0)


def one_hot_logits(targets: torch.Tensor, V: int, scale: float = 20.0) -> torch.Tensor:
    return torch.nn.functional.one_hot(targets, V).float() * scale


def test_exact_match_needs_every_answer_token():
    targets = torch.tensor([[1, 2, 3], [1, 2, 3]])
    answer = torch.tensor([[False, True, True], [False, True, True]])
    logits = one_hot_logits(targets, 5)
    logits[1, 2] = one_hot_logits(torch.tensor(0), 5)  # second item: last answer token wrong
    logits[0, 0] = one_hot_logits(torch.tensor(4), 5)  # first item: a non-answer token wrong
    assert exact_match(logits, targets, answer).tolist() == [True, False]


def test_perfect_predictions_score_perfectly(corpus):
    tok = corpus.tokenizer
    for name, p in standard_probes(corpus, n=10).items():
        scores = probe_scores(one_hot_logits(p.targets, tok.vocab_size), p)
        assert scores["exact"].min() == 1 and scores["token_acc"].min() == 1, name
        assert scores["loss"].max() < 1e-3
        if "two_way" in scores:
            assert scores["two_way"].min() == 1
            wrong = one_hot_logits(p.alt.clamp(min=0), tok.vocab_size)
            assert probe_scores(wrong, p)["two_way"].max() == 0  # preferring the wrong word


def test_probe_shapes_and_padding(corpus):
    rng = __import__("random").Random(0)
    sents = [corpus.copying(rng, ["time", "river", "light"]), corpus.arithmetic(rng, 1)]
    p = make_probe("mixed", sents, corpus.tokenizer)
    assert p.idx.shape == p.targets.shape == p.answer.shape == (2, len(sents[0].words))
    assert p.answer.sum(1).tolist() == [3, sum(sents[1].answer)]
    assert p.idx[:, 0].tolist() == corpus.tokenizer.encode([".", "."])  # each starts after "."
    with pytest.raises(ValueError):
        make_probe("two-way", sents, corpus.tokenizer, alt=["x", "y"])
    with pytest.raises(ValueError):
        make_probe("empty", [], corpus.tokenizer)


def test_decomposition_identity_share_weighted_sum_is_the_loss(corpus):
    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(corpus.tokenizer.vocab_size, 16, 16, 2, 1, pos="rope"))
    out = task_losses(model, corpus.stream(2000, seed=3), context=16, max_windows=20)
    assert [t["task"] for t in out["tasks"]] == list(TASKS)
    assert sum(t["share"] for t in out["tasks"]) == pytest.approx(1.0)
    total = sum(t["share"] * t["loss"] for t in out["tasks"] if t["count"])
    assert total == pytest.approx(out["loss"], abs=1e-9)
    assert model.training  # the mode is restored


def test_run_probe_batches_like_one_pass(corpus):
    torch.manual_seed(0)
    model = TransformerLM(TransformerConfig(corpus.tokenizer.vocab_size, 32, 16, 2, 1, pos="rope"))
    p = standard_probes(corpus, n=10)["agreement"]
    a, b = run_probe(model, p, batch_size=3), run_probe(model, p, batch_size=100)
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-5)


def test_facts_by_count_groups_by_times_seen():
    scores = {"exact": torch.tensor([1.0, 0.0, 1.0, 1.0])}
    rows = facts_by_count(scores, [0, 0, 2, 300])
    assert [(r["min_count"], r["n_facts"], r["exact"]) for r in rows] == [
        (0, 2, 0.5),
        (1, 1, 1.0),
        (256, 1, 1.0),
    ]


def test_shares_and_losses_and_token_accuracy():
    from lmlib.analysis.probes import shares_and_losses, token_accuracy

    losses = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    labels = torch.tensor([[0, 0, 1], [2, 1, 1]])
    shares, means = shares_and_losses(losses, labels, 4)
    assert shares.tolist() == pytest.approx([2 / 6, 3 / 6, 1 / 6, 0])
    assert means.tolist() == pytest.approx([1.5, 14 / 3, 4.0, 0.0])
    assert (shares * means).sum().item() == pytest.approx(losses.mean().item())
    targets = torch.tensor([[1, 2, 3]])
    logits = one_hot_logits(torch.tensor([[1, 0, 3]]), 5)
    answer = torch.tensor([[False, True, True]])
    assert token_accuracy(logits, targets, answer) == 0.5
