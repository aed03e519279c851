"""Sums with a checker: encoding, the checker on ids and on words, per-word log-probabilities,
generation, and one step of each of supervised fine-tuning and REINFORCE."""

import pytest
import torch

from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.rewards import sums

TOK = sums.tokenizer()


def tiny_model(seed: int = 0) -> TransformerLM:
    torch.manual_seed(seed)
    return TransformerLM(TransformerConfig(TOK.vocab_size, context=16, d_model=16, n_heads=2))


def test_prompts_and_answers_read_least_significant_digit_first():
    a, b = torch.tensor([47, 99]), torch.tensor([5, 1])
    assert TOK.decode(sums.prompts(a[:1], b[:1] + 10, TOK)[0]) == list("74+51=")
    ans = sums.answers(a, b, TOK, width=4)
    assert [TOK.decode(r) for r in ans] == [["2", "5", ".", "."], ["0", "0", "1", "."]]
    with pytest.raises(ValueError, match="one length"):
        sums.prompts(torch.tensor([47, 999]), b, TOK)
    with pytest.raises(ValueError, match="too short"):
        sums.answers(a, b, TOK, width=3)


def test_problems_have_the_digits_asked_for():
    a, b = sums.problems(200, 3, torch.Generator().manual_seed(0), digits_b=1)
    assert a.min() >= 100 and a.max() <= 999 and b.min() >= 0 and b.max() <= 9
    with pytest.raises(ValueError, match="digits"):
        sums.problems(3, 0, torch.Generator())


def test_checker_on_ids_needs_every_word_up_to_the_end():
    target = sums.answers(torch.tensor([47]), torch.tensor([5]), TOK, 4).repeat(4, 1)
    said = target.clone()
    said[1, 1] = TOK.stoi["6"]  # one digit off
    said[2, 2] = TOK.stoi["1"]  # runs on past the answer
    said[3, 1] = 0  # stops early
    assert sums.rewards(said, target).tolist() == [1.0, 0.0, 0.0, 0.0]
    mask = sums.answer_mask(said)
    assert mask[0].tolist() == [True, True, True, False] and mask[3].tolist()[:3] == [1, 1, 0]


def test_sum_reward_on_words():
    assert sums.sum_reward("7 4 + 5 =", "2 5 .") == 1.0
    assert sums.sum_reward("7 4 + 5 =", "2 5 . 9 9") == 1.0  # after "." nothing counts
    for wrong in ("5 2 .", "2 5", "2 5 0 .", ". 2 5", "2 6 ."):
        assert sums.sum_reward("7 4 + 5 =", wrong) == 0.0, wrong
    assert sums.sum_reward("9 9 9 + 1 =", "0 0 0 1 .") == 1.0
    with pytest.raises(ValueError, match="prompt"):
        sums.sum_reward("7 4 5 =", "2 5 .")


def test_answer_logprobs_match_a_loop_over_words():
    logits = torch.randn(3, 4, TOK.vocab_size)
    ids = torch.randint(0, TOK.vocab_size, (3, 4))
    got = sums.answer_logprobs(logits, ids)
    ref = torch.tensor(
        [[logits[i, t].log_softmax(-1)[ids[i, t]] for t in range(4)] for i in range(3)]
    )
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="answer_ids"):
        sums.answer_logprobs(logits, ids[:, :3])


def test_generation_is_greedy_at_temperature_zero_and_ends_with_end_words():
    model = tiny_model()
    p = sums.prompts(*sums.problems(6, 2, torch.Generator().manual_seed(1)), TOK)
    said = sums.generate_answers(model, p, 4)
    seq = p
    for t in range(4):  # the same words, one full forward pass at a time
        nxt = model(seq)[:, -1].argmax(-1)
        nxt = torch.where((said[:, :t] == 0).any(1), 0, nxt)
        assert torch.equal(nxt, said[:, t])
        seq = torch.cat([seq, nxt[:, None]], 1)
    drawn = sums.generate_answers(model, p, 4, 1.0, torch.Generator().manual_seed(0))
    after_end = (drawn == 0).long().cumsum(1) > 0
    assert (drawn[after_end] == 0).all()


def test_pg_loss_uses_the_other_samples_as_baseline():
    logp = torch.tensor([-1.0, -2.0, -3.0, -4.0], requires_grad=True)
    r = torch.tensor([1.0, 0.0, 0.0, 0.0])
    loss = sums.pg_loss(logp, r, samples=2)
    loss.backward()  # advantages: 1, -1 (pair 1); 0, 0 (pair 2)
    torch.testing.assert_close(logp.grad, torch.tensor([-0.25, 0.25, 0.0, 0.0]))
    with pytest.raises(ValueError, match="samples"):
        sums.pg_loss(logp, r, samples=3)


def test_sft_learns_demonstrations_and_rl_raises_the_reward_of_what_it_finds():
    model = tiny_model()
    a, b = torch.tensor([3, 4]), torch.tensor([5, 2])
    p, ans = sums.prompts(a, b, TOK), sums.answers(a, b, TOK, 3)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = [sums.sft_step(model, opt, p, ans) for _ in range(80)]
    assert losses[-1] < 0.15 * losses[0] and sums.accuracy(model, a, b, TOK) == 1.0
    # A few demonstrations make a right sample likely enough (p about 0.1); reward does the rest.
    model, gen = tiny_model(1), torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(8):
        sums.sft_step(model, opt, p[:1], ans[:1])
    before = sums.sequence_logprob(model, p[:1], ans[:1]).item()
    curve = [sums.rl_step(model, opt, a[:1], b[:1], TOK, 8, gen) for _ in range(20)]
    after = sums.sequence_logprob(model, p[:1], ans[:1]).item()
    assert after > before + 1.0 and sum(curve[-5:]) > sum(curve[:5])
