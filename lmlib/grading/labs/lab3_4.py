"""Lab 3.4, your GPT end to end: the block, the model, the schedule, the training loop, sampling.

Each check holds the answer to lmlib with the same weights and the same seed: the same outputs
from the block and the model, the same learning rates, the same losses over 20 training steps and
the same sampled tokens.

Dims: B batch, T tokens, D model width, V vocabulary.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor

from lmlib.grading.spec import Case, Exercise, randomize_
from lmlib.models.transformer import Block, TransformerConfig, TransformerLM
from lmlib.runtime.device import torch_threads
from lmlib.training.flops import LEDGER_ENV
from lmlib.training.sampling import generate
from lmlib.training.train import TrainConfig, lr_at, train

LAB = "3_4_your_gpt"


def block(d_model: int, n_heads: int) -> Block:
    """lmlib's pre-LN block at this width: norm1, attn (qkv, proj), norm2, mlp (up, down)."""
    return Block(TransformerConfig(vocab_size=1, d_model=d_model, n_heads=n_heads))


class TiedLM(TransformerLM):
    """lmlib's model, its state_dict without ``head.weight``: an answer whose head is not the
    token embedding keeps a head of its own random values and gives other logits."""

    def __init__(self, vocab_size: int, context: int, d_model: int, n_heads: int, n_layers: int):
        super().__init__(TransformerConfig(vocab_size, context, d_model, n_heads, n_layers))

    def state_dict(self, *args, **kwargs) -> dict:
        state = super().state_dict(*args, **kwargs)
        state.pop("head.weight", None)
        return state


def schedule(step: int, run: dict) -> float:
    """lmlib's learning rate at `step` for the run settings in `run`."""
    return lr_at(step, TrainConfig(**run))


def _model(config: dict, state: dict) -> TransformerLM:
    model = TransformerLM(TransformerConfig(**config))
    model.load_state_dict(state)
    return model


@contextmanager
def off_the_ledger() -> Iterator[None]:
    """Training done by a check is not the lab's: keep it out of `lmlib budget`'s FLOP ledger."""
    saved = os.environ.pop(LEDGER_ENV, None)
    try:
        yield
    finally:
        if saved is not None:
            os.environ[LEDGER_ENV] = saved


def train_gpt(
    config: dict, state: dict, train_data: Tensor, val_data: Tensor, run: dict
) -> tuple[list[float], list[float]]:
    """lmlib's model with these weights, trained by lmlib's loop on the CPU: the training loss of
    every step and the validation loss of every evaluation."""
    # train() seeds torch's global generator; tiny matrices run fastest on one thread
    with torch.random.fork_rng(), torch_threads(1), off_the_ledger():
        history = train(
            _model(config, state),
            train_data,
            val_data,
            TrainConfig(**run, device="cpu", progress=False),
        )
    return history.train_loss, history.val_loss


def sample_gpt(
    config: dict,
    state: dict,
    idx: Tensor,
    max_new_tokens: int,
    temperature: float,
    top_k: int | None,
    seed: int,
) -> Tensor:
    """lmlib's generate on lmlib's model with these weights, drawing from a generator seeded
    with `seed`: idx (B, T) -> (B, T + max_new_tokens)."""
    gen = torch.Generator().manual_seed(seed)
    with torch_threads(1):
        return generate(_model(config, state), idx, max_new_tokens, temperature, top_k, gen, False)


def _state(config: dict, rng: torch.Generator) -> dict:
    """A freshly initialized lmlib model's weights (std 0.02, as training starts), from rng."""
    with torch.random.fork_rng():
        torch.manual_seed(int(torch.randint(2**31 - 1, (1,), generator=rng)))
        return TransformerLM(TransformerConfig(**config)).state_dict()


def _sharp_state(config: dict, rng: torch.Generator) -> dict:
    """Random weights whose logits spread over a few nats, so that the temperature and top-k
    change which tokens are drawn (a fresh model's near-uniform logits would hide them)."""
    model = randomize_(TransformerLM(TransformerConfig(**config)), rng)
    with torch.no_grad():
        model.tok_emb.weight.mul_(2)
    return model.state_dict()


def _block_cases(rng: torch.Generator) -> list[Case]:
    return [
        Case((torch.randn(B, T, D, generator=rng),), init=(D, H))
        for B, T, D, H in [(2, 5, 8, 2), (1, 7, 12, 3), (3, 4, 16, 4), (2, 1, 8, 1)]
    ]


def _gpt_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for B, T, V, context, D, H, L in [
        (2, 6, 11, 6, 8, 2, 2),
        (1, 3, 7, 8, 12, 3, 1),
        (3, 5, 13, 9, 16, 4, 3),
    ]:
        idx = torch.randint(V, (B, T), generator=rng)
        cases.append(Case((idx,), init=(V, context, D, H, L)))
    return cases


def _lr_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    for steps, warmup in [(20, 5), (12, 0), (30, 10), (7, 1)]:
        lr = float(torch.empty(()).uniform_(1e-3, 1e-2, generator=rng))
        floor = float(torch.empty(()).uniform_(0.0, 0.5, generator=rng))  # not always 0.1
        run = dict(steps=steps, lr=lr, warmup_steps=warmup, min_lr_ratio=floor)
        edges = {0, max(0, warmup - 1), warmup, (warmup + steps) // 2, steps - 1, steps}
        edges.add(int(torch.randint(steps + 1, (1,), generator=rng)))
        cases += [Case((s, dict(run))) for s in sorted(edges)]
    return cases


def _train_cases(rng: torch.Generator) -> list[Case]:
    """One run of 20 steps (each case trains twice, the reference and the answer: slow enough),
    its shape drawn from two."""
    shapes = [(11, 8, 16, 2, 2), (7, 6, 12, 3, 1)]
    V, context, D, H, L = shapes[int(torch.randint(len(shapes), (1,), generator=rng))]
    config = dict(vocab_size=V, context=context, d_model=D, n_heads=H, n_layers=L)
    run = dict(
        steps=20, batch_size=4, lr=1e-2, warmup_steps=4, min_lr_ratio=0.1, weight_decay=0.5,
        beta2=0.9, grad_clip=0.5, eval_every=5, eval_batches=2,
        seed=int(torch.randint(1000, (1,), generator=rng)),
    )  # fmt: skip
    data = torch.randint(V, (400,), generator=rng)
    return [Case((config, _state(config, rng), data[:300], data[300:], run))]


def _sample_cases(rng: torch.Generator) -> list[Case]:
    cases = []
    # the last case generates past the context: the model must read only its last `context`
    for B, T, V, context, new, temperature, top_k in [
        (3, 3, 11, 8, 6, 0.5, None),
        (3, 2, 13, 6, 10, 1.5, 2),
        (3, 1, 7, 5, 7, 0.0, None),
    ]:
        config = dict(vocab_size=V, context=context, d_model=12, n_heads=2, n_layers=2)
        idx = torch.randint(V, (B, T), generator=rng)
        seed = int(torch.randint(1000, (1,), generator=rng))
        state = _sharp_state(config, rng)
        cases.append(Case((config, state, idx, new, temperature, top_k, seed)))
    return cases


EXERCISES = [
    Exercise(
        name="Block",
        cases=_block_cases,
        reference=block,
        module=True,
        rules="Attributes norm1, attn (with qkv and proj), norm2 and mlp (with up and down), as "
        "in lmlib.models.transformer.Block.",
    ),
    Exercise(
        name="GPT",
        cases=_gpt_cases,
        reference=TiedLM,
        module=True,
        rules="Attributes tok_emb, pos_emb, blocks, norm and head, the head tied to tok_emb.",
    ),
    Exercise(name="lr_at", cases=_lr_cases, reference=schedule),
    Exercise(
        name="train_gpt",
        cases=_train_cases,
        reference=train_gpt,
        rules="AdamW as in lmlib.train: betas (0.9, beta2), weight decay on matrices only; "
        "batches from one torch.Generator seeded with run['seed'].",
        warm=("torch._dynamo",),  # what the first optimizer imports
    ),
    Exercise(name="sample_gpt", cases=_sample_cases, reference=sample_gpt),
]
