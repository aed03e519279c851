"""What each lab trains, per profile: its planned training FLOPs, for `lmlib budget`'s `gpu`
estimate. Each plan repeats the sizes of its notebook; `lmlib budget` checks the `ci` and `cpu`
plans against the FLOPs the notebooks actually spent, so a plan that drifts is caught."""

from __future__ import annotations

from collections.abc import Callable

from lmlib.training.flops import run_flops


def _transformer_flops(model_cfg, train_cfg) -> float:
    from lmlib.models.transformer import TransformerLM

    model = TransformerLM(model_cfg)
    return run_flops(model.flops_per_token(), model_cfg.context, train_cfg)


def _lab01(profile: str) -> float:
    from lmlib.experiments.next_token import settings

    return _transformer_flops(*settings(profile))


def _lab02(profile: str) -> float:
    from lmlib.models.transformer import TransformerConfig
    from lmlib.runtime.profiles import by_profile
    from lmlib.training.train import TrainConfig

    s = by_profile(  # the notebook's SIZES cell
        ci=dict(d_model=32, n_heads=4, n_layers=2, context=48, batch_size=16, steps=30),
        cpu=dict(d_model=128, n_heads=4, n_layers=2, context=64, batch_size=32, steps=600),
        gpu=dict(d_model=256, n_heads=8, n_layers=4, context=128, batch_size=64, steps=2000),
        profile=profile,
    )
    model = TransformerConfig(65, s["context"], s["d_model"], s["n_heads"], s["n_layers"])
    steps = s["steps"]
    run = TrainConfig(
        steps=steps,
        batch_size=s["batch_size"],
        eval_every=max(1, steps // 5),
        eval_batches=by_profile(ci=2, cpu=10, gpu=20, profile=profile),
    )
    return _transformer_flops(model, run)


def _lab03(profile: str) -> float:
    from lmlib.data.multitask import MultitaskCorpus
    from lmlib.models.transformer import TransformerConfig
    from lmlib.runtime.profiles import by_profile
    from lmlib.training.train import TrainConfig

    s = by_profile(  # the notebook's SIZES and WORLD
        ci=dict(n_layers=2, d_model=16, n_heads=2, context=32, batch=8, steps=40, n=30, q=8),
        cpu=dict(n_layers=2, d_model=64, n_heads=4, context=64, batch=16, steps=1000, n=400, q=32),
        gpu=dict(n_layers=4, d_model=128, n_heads=4, context=64, batch=16, steps=3000, n=400, q=32),
        profile=profile,
    )  # fmt: skip
    V = MultitaskCorpus(s["n"], s["q"], seed=0).tokenizer.vocab_size
    cfg = TransformerConfig(V, s["context"], s["d_model"], s["n_heads"], s["n_layers"], pos="rope")
    run = TrainConfig(steps=s["steps"], batch_size=s["batch"], eval_every=s["steps"],
                      eval_batches=2)  # fmt: skip
    return _transformer_flops(cfg, run)


def _lab04(profile: str) -> float:
    from lmlib.data.multitask import MultitaskCorpus
    from lmlib.models.transformer import TransformerConfig
    from lmlib.runtime.profiles import by_profile
    from lmlib.training.train import TrainConfig

    ladder = by_profile(  # the notebook's LADDER and RUN: every size is trained
        ci=[(1, 8, 2), (1, 16, 2), (2, 16, 2), (2, 32, 2)],
        cpu=[(1, 16, 2), (1, 32, 2), (2, 32, 2), (2, 64, 4)],
        gpu=[(1, 16, 2), (1, 32, 2), (2, 32, 2), (2, 64, 4), (3, 96, 4)],
        profile=profile,
    )
    r = by_profile(
        ci=dict(steps=30, batch_size=8, context=32, n=30, q=8),
        cpu=dict(steps=500, batch_size=16, context=64, n=400, q=32),
        gpu=dict(steps=1100, batch_size=16, context=64, n=400, q=32),
        profile=profile,
    )
    V = MultitaskCorpus(r["n"], r["q"], seed=0).tokenizer.vocab_size
    run = TrainConfig(steps=r["steps"], batch_size=r["batch_size"], eval_every=r["steps"],
                      eval_batches=2)  # fmt: skip
    return sum(
        _transformer_flops(TransformerConfig(V, r["context"], d, h, n, pos="rope"), run)
        for n, d, h in ladder
    )


def _lab05(profile: str) -> float:
    from lmlib.models.families import FAMILIES, build_matched
    from lmlib.runtime.profiles import by_profile
    from lmlib.training.train import TrainConfig

    s = by_profile(  # the notebook's SIZES, LAYERS and EVAL_BATCHES
        ci=dict(n_params=8_000, context=16, batch_size=4, steps=6, eval_batches=1),
        cpu=dict(n_params=100_000, context=64, batch_size=32, steps=300, eval_batches=8),
        gpu=dict(n_params=1_000_000, context=256, batch_size=64, steps=1500, eval_batches=20),
        profile=profile,
    )
    layers = {"rnn": 2, "cnn": 4, "transformer": 2}
    run = TrainConfig(
        steps=s["steps"],
        batch_size=s["batch_size"],
        eval_every=max(1, s["steps"] // 6),
        eval_batches=s["eval_batches"],
    )
    total = 0.0
    for family in FAMILIES:  # the comparison at equal size; the small probes are left out
        model = build_matched(family, s["n_params"], 65, s["context"], layers[family])
        total += run_flops(model.flops_per_token(s["context"]), s["context"], run)
    return total


def _lab06(profile: str) -> float:
    from lmlib.models.transformer import TransformerConfig, TransformerLM
    from lmlib.runtime.profiles import by_profile
    from lmlib.training.train import TrainConfig

    s = by_profile(  # the notebook's SIZES and EVAL_BATCHES
        ci=dict(d_model=16, n_layers=1, context=16, batch=4, base_steps=4, seeds=2, evals=1),
        cpu=dict(d_model=64, n_layers=2, context=64, batch=16, base_steps=120, seeds=3, evals=10),
        gpu=dict(d_model=128, n_layers=4, context=128, batch=64, base_steps=600, seeds=3, evals=20),
        profile=profile,
    )  # fmt: skip

    def flops(expansion: float) -> int:
        cfg = TransformerConfig(65, s["context"], s["d_model"], 4, s["n_layers"], expansion)
        return TransformerLM(cfg).flops_per_token()

    total = 0.0
    for e in (0, 1, 2, 4, 8):  # the ablation at equal FLOPs; the probe and toy are left out
        steps = max(1, round(s["base_steps"] * flops(4) / flops(e)))
        run = TrainConfig(steps=steps, batch_size=s["batch"], eval_every=steps,
                          eval_batches=s["evals"])  # fmt: skip
        total += s["seeds"] * run_flops(flops(e), s["context"], run)
    return total


def _lab07(profile: str) -> float:
    from lmlib.analysis.quiz import encode_facts
    from lmlib.data.knowledge import KnowledgeBase
    from lmlib.data.tokenizer import WordTokenizer
    from lmlib.experiments.incentives import settings
    from lmlib.models.transformer import TransformerConfig, TransformerLM

    s = settings(profile)
    kb = KnowledgeBase(s["n_entities"], seed=0)
    tok = WordTokenizer(kb.vocabulary())
    T = encode_facts(kb, tok)[0].shape[-1] - 1  # the fact LM reads whole sentences
    cfg = TransformerConfig(tok.vocab_size, 8, s["d_model"], n_heads=2, n_layers=s["n_layers"])
    return TransformerLM(cfg).flops_per_token(T) * s["steps"] * s["batch_size"] * T


PLANS: dict[str, Callable[[str], float]] = {
    "01_next_token_prediction": _lab01,
    "02_multihead_attention": _lab02,
    "03_multitask_learning": _lab03,
    "04_scaling_and_emergence": _lab04,
    "05_three_ways_to_read": _lab05,
    "06_mlp": _lab06,
    "07_incentives": _lab07,
}
