"""lmlib.rewards.abstain: questions with an "I don't know" choice, their rewards, REINFORCE on the
model's own weights, and Spearman's rho."""

import pytest
import torch

from lmlib.data.knowledge import KnowledgeBase
from lmlib.data.tokenizer import WordTokenizer
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.rewards import abstain as ab
from lmlib.rewards.qa import ACCURACY, PENALTY


def _setup(n_entities: int = 8, seed: int = 0):
    kb = KnowledgeBase(n_entities, seed=seed)
    tok = WordTokenizer(ab.vocabulary(kb))
    torch.manual_seed(seed)
    cfg = TransformerConfig(tok.vocab_size, context=8, d_model=16, n_heads=2, n_layers=1)
    return kb, tok, TransformerLM(cfg).eval()


def test_questions_list_the_candidates_then_idk_and_point_at_the_answer():
    kb, tok, _ = _setup()
    q = ab.questions(kb, tok)
    n, c = len(kb.facts), len(next(iter(kb.relations.values())))
    assert q["choices"].shape == (n, c + 1) and q["target"].shape == (n,)
    assert (q["choices"][:, -1] == tok.stoi[ab.IDK]).all()
    for i, fact in enumerate(kb.facts):
        assert tok.decode([int(q["choices"][i, q["target"][i]])]) == [fact.answer]
        assert tok.decode(q["idx"][i, : q["pos"][i]]) == kb.prompt(fact)


def test_choice_logits_read_the_word_after_the_prompt_alone():
    kb, tok, model = _setup()
    q = ab.questions(kb, tok)
    got = ab.choice_logits(model, q)
    for i in (0, 5, len(kb.facts) - 1):
        prompt = torch.tensor([tok.encode(kb.prompt(kb.facts[i]))])
        want = model(prompt)[0, -1, q["choices"][i]]  # no padding after the prompt
        torch.testing.assert_close(got[i], want, rtol=1e-5, atol=1e-5)


def test_idk_starts_just_below_the_best_answer_on_every_question():
    kb, tok, model = _setup()
    q = ab.questions(kb, tok)
    lift = ab.init_idk(model, q, margin=0.01)
    assert lift > 0
    with torch.no_grad():
        logits = ab.choice_logits(model, q)
    gap = logits[:, :-1].max(-1).values - logits[:, -1]  # how far IDK is below the first choice
    assert gap.min() == pytest.approx(0.01, rel=1e-3)  # the closest question keeps the margin


def test_choice_rewards_follow_the_table_and_reject_bad_input():
    target = torch.tensor([0, 1, 2, 3])
    choice = torch.tensor([0, 2, 10, 10])  # right, wrong, idk, idk (10 of 11 choices)
    assert ab.choice_rewards(choice, target, PENALTY, 11).tolist() == [1.0, -4.0, 0.0, 0.0]
    assert ab.choice_rewards(choice, target, ACCURACY, 11).tolist() == [1.0, 0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="differ"):
        ab.choice_rewards(choice[:3], target, PENALTY, 11)
    with pytest.raises(ValueError, match="abstain"):
        ab.choice_rewards(choice, target, {"correct": 1, "wrong": 0}, 11)


def test_questions_need_the_idk_word():
    kb = KnowledgeBase(4)
    with pytest.raises(ValueError, match="vocabulary"):
        ab.questions(kb, WordTokenizer(kb.vocabulary()))


def test_finetune_follows_the_reward_alone_and_repeats_from_a_seed():
    kb, tok, model = _setup()
    q = ab.questions(kb, tok)
    ab.init_idk(model, q)
    assert (ab.greedy(model, q) != q["choices"].shape[1] - 1).all()  # idk is never the top choice
    only_idk = {"correct": 0.0, "wrong": 0.0, "abstain": 1.0}  # a table that pays for abstaining
    curves = []
    for _ in range(2):
        tuned = TransformerLM(model.config)
        tuned.load_state_dict(model.state_dict())
        curves.append(
            ab.finetune(tuned, q, only_idk, steps=40, batch_size=16, samples=4, lr=1e-2, seed=3)
        )
    assert curves[0] == curves[1]
    assert (ab.greedy(tuned, q) == q["choices"].shape[1] - 1).all()
    assert sum(curves[0][-5:]) / 5 > sum(curves[0][:5]) / 5 + 0.3


def test_spearman_ranks_ties_at_their_mean():
    assert ab.ranks(torch.tensor([10.0, 20.0, 20.0, 30.0])).tolist() == [1.0, 2.5, 2.5, 4.0]
    x = torch.tensor([3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0])
    assert ab.spearman(x, x**3) == pytest.approx(1.0, rel=1e-12)
    assert ab.spearman(x, -x) == pytest.approx(-1.0, rel=1e-12)
    # Pearson correlation of the mean ranks, computed by hand for a small tied example
    a, b = torch.tensor([1.0, 2.0, 2.0, 3.0]), torch.tensor([0.0, 0.0, 1.0, 1.0])
    ra = torch.tensor([1.0, 2.5, 2.5, 4.0], dtype=torch.float64)
    rb = torch.tensor([1.5, 1.5, 3.5, 3.5], dtype=torch.float64)
    want = float(torch.corrcoef(torch.stack([ra, rb]))[0, 1])
    assert ab.spearman(a, b) == pytest.approx(want, rel=1e-9)
    with pytest.raises(ValueError, match="N >= 2"):
        ab.spearman(torch.zeros(1), torch.zeros(1))
