"""Training an input -> target model: the loss falls, decoding is greedy, the same seed repeats."""

import torch

from lmlib.data.seq2seq import lexicon_translation
from lmlib.models.encdec import EncDecConfig, EncoderDecoder
from lmlib.training.seq2seq_train import greedy_decode, score, seq2seq_loss, train_seq2seq
from lmlib.training.train import TrainConfig

TASK = lexicon_translation(n_train=200, n_test=32, n_words=3, n_source=6, n_symbols=4)


def model(seed: int = 0) -> EncoderDecoder:
    torch.manual_seed(seed)
    cfg = EncDecConfig(TASK.vocab_size, context=12, d_model=16, n_heads=2, n_layers=1)
    return EncoderDecoder(cfg)


def run(seed: int = 0, steps: int = 30) -> dict:
    cfg = TrainConfig(
        steps=steps, batch_size=16, lr=1e-2, warmup_steps=2, eval_every=10, seed=seed,
        progress=False,
    )  # fmt: skip
    return train_seq2seq(model(seed), TASK, cfg)


def test_loss_falls_and_history_is_recorded():
    r = run()
    h = r["history"]
    assert h["eval_step"] == [10, 20, 30] and len(h["train_loss"]) == 30
    assert h["val_loss"][-1] == r["loss"]  # the last entry scores the whole held-out set
    assert h["val_loss"][-1] < h["val_loss"][0] < 3.0
    assert 0 <= r["exact_match"] <= r["token_accuracy"] <= 1
    assert r["train_flops"] == 30 * 16 * model().flops_per_example(3, 7)


def test_same_seed_same_numbers():
    a, b = run(seed=1, steps=10), run(seed=1, steps=10)
    assert a["history"]["train_loss"] == b["history"]["train_loss"] and a["loss"] == b["loss"]


def test_greedy_decode_takes_the_argmax_at_every_step():
    m = model().eval()
    src = TASK.test_src[:4]
    pred = greedy_decode(m, src, 5)
    assert pred.shape == (4, 5)
    for t in range(5):  # each token is the argmax given the ones before it
        tgt_in = torch.cat([torch.zeros(4, 1, dtype=torch.long), pred[:, :t]], dim=1)
        assert torch.equal(m(src, tgt_in)[:, -1].argmax(-1), pred[:, t])


def test_score_of_a_model_that_copies_the_answers():
    class Oracle(torch.nn.Module):  # puts all its mass on the right next token
        def forward(self, src, tgt_in):
            rows = [TASK.test_tgt[(TASK.test_src == s).all(1)][0] for s in src]
            return torch.nn.functional.one_hot(torch.stack(rows)[:, : tgt_in.shape[1]], 30) * 50.0

    s = score(Oracle(), TASK.test_src, TASK.test_tgt, batch_size=8)
    assert s["exact_match"] == 1.0 and s["token_accuracy"] == 1.0 and s["loss"] < 1e-6
    assert seq2seq_loss(Oracle(), TASK.test_src[:2], TASK.test_tgt[:2]).item() < 1e-6
