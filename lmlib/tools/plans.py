"""What each lab trains, per profile: its planned training FLOPs, for `lmlib budget`'s `gpu`
estimate. Each plan reads its lab's sizes where the notebook reads them (lmlib.experiments.labs
and the experiments' own settings); `lmlib budget` checks the `ci` and `cpu` plans against the
FLOPs the notebooks actually spent, so a plan that no longer follows its notebook is caught."""

from __future__ import annotations

from collections.abc import Callable

from lmlib.experiments.labs import FAMILY_LAYERS, MLP_EXPANSIONS, settings
from lmlib.training.flops import run_flops


def _transformer_flops(model_cfg, train_cfg) -> float:
    from lmlib.models.transformer import TransformerLM

    model = TransformerLM(model_cfg)
    return run_flops(model.flops_per_token(), model_cfg.context, train_cfg)


def _lab1_1(profile: str) -> float:
    from lmlib.experiments.next_token import settings

    return _transformer_flops(*settings(profile))


def _lab3_1(profile: str) -> float:
    from lmlib.models.transformer import TransformerConfig
    from lmlib.training.train import TrainConfig

    lab = settings("3_1_multihead_attention", profile)
    s = lab["sizes"]
    model = TransformerConfig(65, s["context"], s["d_model"], s["n_heads"], s["n_layers"])
    steps = s["steps"]
    run = TrainConfig(
        steps=steps,
        batch_size=s["batch_size"],
        eval_every=max(1, steps // 5),
        eval_batches=lab["eval_batches"],
    )
    return _transformer_flops(model, run)


def _lab1_2(profile: str) -> float:
    from lmlib.data.multitask import MultitaskCorpus
    from lmlib.models.transformer import TransformerConfig
    from lmlib.training.train import TrainConfig

    lab = settings("1_2_multitask_learning", profile)
    s, w = lab["sizes"], lab["world"]
    V = MultitaskCorpus(w["n_entities"], w["n_quotes"], seed=0).tokenizer.vocab_size
    cfg = TransformerConfig(V, s["context"], s["d_model"], s["n_heads"], s["n_layers"], pos="rope")
    run = TrainConfig(
        steps=s["steps"], batch_size=s["batch_size"], eval_every=s["steps"], eval_batches=2
    )
    return _transformer_flops(cfg, run)


def _lab1_3(profile: str) -> float:
    from lmlib.data.multitask import MultitaskCorpus
    from lmlib.models.transformer import TransformerConfig
    from lmlib.training.train import TrainConfig

    lab = settings("1_3_scaling_and_emergence", profile)  # every size of the ladder is trained
    r = lab["run"]
    V = MultitaskCorpus(r["n_entities"], r["n_quotes"], seed=0).tokenizer.vocab_size
    run = TrainConfig(
        steps=r["steps"], batch_size=r["batch_size"], eval_every=r["steps"], eval_batches=2
    )
    return sum(
        _transformer_flops(TransformerConfig(V, r["context"], d, h, n, pos="rope"), run)
        for n, d, h in lab["ladder"]
    )


def _lab2_2(profile: str) -> float:
    from lmlib.models.families import FAMILIES, build_matched
    from lmlib.training.train import TrainConfig

    lab = settings("2_2_three_ways_to_read", profile)
    s = lab["sizes"]
    run = TrainConfig(
        steps=s["steps"],
        batch_size=s["batch_size"],
        eval_every=max(1, s["steps"] // 6),
        eval_batches=lab["eval_batches"],
    )
    total = 0.0
    for family in FAMILIES:  # the comparison at equal size; the small probes are left out
        model = build_matched(family, s["n_params"], 65, s["context"], FAMILY_LAYERS[family])
        total += run_flops(model.flops_per_token(s["context"]), s["context"], run)
    return total


def _lab3_2(profile: str) -> float:
    from lmlib.models.transformer import TransformerConfig, TransformerLM
    from lmlib.training.train import TrainConfig

    lab = settings("3_2_mlp", profile)
    s = lab["sizes"]

    def flops(expansion: float) -> int:
        cfg = TransformerConfig(65, s["context"], s["d_model"], 4, s["n_layers"], expansion)
        return TransformerLM(cfg).flops_per_token()

    total = 0.0
    for e in MLP_EXPANSIONS:  # the ablation at equal FLOPs; the probe and toy are left out
        steps = max(1, round(s["base_steps"] * flops(4) / flops(e)))
        run = TrainConfig(
            steps=steps, batch_size=s["batch_size"], eval_every=steps,
            eval_batches=lab["eval_batches"],
        )  # fmt: skip
        total += len(s["seeds"]) * run_flops(flops(e), s["context"], run)
    return total


def _lab3_3(profile: str) -> float:
    from lmlib.experiments import tokenization as tk
    from lmlib.models.transformer import TransformerLM

    s = settings("3_3_tokenization", profile)
    # Every tokenizer's model spends the character model's training FLOPs (equal_flops_steps):
    # 65 characters, one byte per token, so a context of window_bytes; one evaluation each.
    char = TransformerLM(tk.config(s, 65, s["window_bytes"])).flops_per_token()
    per_step = s["batch_size"] * s["window_bytes"] * char
    n_runs = (len(s["bpe_sizes"]) + 2) * len(s["seeds"])
    total = n_runs * per_step * (s["char_steps"] + s["eval_batches"] / 3)
    for split in (False, True):  # the sums: vocabulary and context depend on the tokenizer
        for seed in s["seeds"]:
            d = tk.arithmetic_data(s, split, seed)
            model = TransformerLM(tk.config(s, d["tokenizer"].vocab_size, d["context"]))
            run = tk.arithmetic_config(s, s["arithmetic"]["steps"], seed)
            total += run_flops(model.flops_per_token(), d["context"], run)
    return total


def _lab3_4(profile: str) -> float:
    from lmlib.models.transformer import TransformerConfig
    from lmlib.training.train import TrainConfig

    lab = settings("3_4_your_gpt", profile)  # the ladder and the student's model, one run each
    m, r = lab["model"], lab["run"]
    run = TrainConfig(**r)
    sizes = [*lab["ladder"], (m["n_layers"], m["d_model"], m["n_heads"])]
    V = lab["vocab_size"]  # the BPE vocabulary; tiny Shakespeare has pairs enough to fill it
    return sum(
        _transformer_flops(TransformerConfig(V, m["context"], d, h, n), run) for n, d, h in sizes
    )


def fact_lm_flops(s: dict) -> float:
    """Training FLOPs of one fact LM of the incentives settings `s` (one seed)."""
    from lmlib.analysis.quiz import encode_facts
    from lmlib.data.knowledge import KnowledgeBase
    from lmlib.data.tokenizer import WordTokenizer
    from lmlib.models.transformer import TransformerConfig, TransformerLM

    kb = KnowledgeBase(s["n_entities"], seed=0)
    tok = WordTokenizer(kb.vocabulary())
    T = encode_facts(kb, tok)[0].shape[-1] - 1  # the fact LM reads whole sentences
    cfg = TransformerConfig(tok.vocab_size, 8, s["d_model"], n_heads=2, n_layers=s["n_layers"])
    return TransformerLM(cfg).flops_per_token(T) * s["steps"] * s["batch_size"] * T


def _lab5_1(profile: str) -> float:
    from lmlib.experiments.incentives import lab_settings

    return fact_lm_flops(lab_settings(profile))


def _lab5_2(profile: str) -> float:
    from lmlib.experiments import sft_vs_rl

    return sft_vs_rl.planned_flops(sft_vs_rl.settings(profile))  # one seed, as the lab runs


def _lab2_1(profile: str) -> float:
    import dataclasses

    from lmlib.experiments import crossover
    from lmlib.training.train import TrainConfig

    s = dataclasses.replace(crossover.settings(profile), n_seeds=2)  # the notebook's S
    P, total = s.task.period, 0.0
    for model in crossover.MODELS[1:]:  # the race; the count model trains nothing
        fpt = crossover.build(model, s).flops_per_token(P)
        for budget in s.budgets:
            steps = max(1, round(budget / (s.batch_size * P * fpt)))
            run = TrainConfig(steps=steps, batch_size=s.batch_size, eval_every=steps,
                              eval_batches=1)  # fmt: skip
            total += s.n_seeds * run_flops(fpt, P, run)
    return total


def _lab4_1(profile: str) -> float:
    from lmlib.experiments.encdec_ladder import planned_flops

    return planned_flops(settings("4_1_encoder_decoder", profile)["ladder"])


def _lab4_2(profile: str) -> float:
    from lmlib.analysis.context_tasks import ContextWorld
    from lmlib.experiments.objectives import build, lab_settings, model_config
    from lmlib.training.pretrain import steps_for

    s = lab_settings(profile)  # the lab runs every objective of s.runs once, each to the budget
    cfg, mask_id = model_config(s, ContextWorld(s.n_people))
    total = 0.0
    for run in s.runs:
        objective = build(run, cfg, mask_id)
        per_step = objective.flops_per_token(s.pretrain.context) * s.pretrain.batch_size
        total += steps_for(objective, s.pretrain) * per_step * s.pretrain.context
    return total


def _lab4_3(profile: str) -> float:
    from lmlib.experiments import distill
    from lmlib.models.transformer import TransformerConfig, TransformerLM

    s = distill.lab_settings(profile)
    V = distill.build_world(s).corpus.tokenizer.vocab_size
    tokens = s.batch_size * s.context

    def fpt(size) -> int:
        cfg = TransformerConfig(V, s.context, size.d_model, size.n_heads, size.n_layers)
        return TransformerLM(cfg).flops_per_token()

    teacher, student = fpt(s.teacher), fpt(s.students[-1])
    n_students = len(distill.OBJECTIVES) + len(distill.NOISE_OBJECTIVES)
    trained = 2 * teacher * s.teacher_steps + n_students * student * s.steps  # two teachers
    return tokens * (trained + 2 * teacher / 3 * s.steps)  # each teacher's forward per step


def _lab1_4(profile: str) -> float:
    return isoflop_flops(settings("1_4_compute_optimal", profile))


def isoflop_flops(s: dict) -> float:
    """One seed of isoflop sizes `s`: every (budget, width), then the sums models."""
    from lmlib.experiments import isoflop
    from lmlib.models.transformer import TransformerLM
    from lmlib.training.train import TrainConfig

    total = sum(
        run_flops(TransformerLM(isoflop.model_config(s, p["d_model"])).flops_per_token(),
                  s["context"], TrainConfig(steps=p["steps"], batch_size=s["batch_size"],
                                            eval_every=p["steps"], eval_batches=1))
        for p in isoflop.plan(s)
    )  # fmt: skip
    d = s["data"]
    model = TransformerLM(isoflop.sums_model_config(s))
    run = TrainConfig(steps=d["steps"], batch_size=d["batch_size"], eval_every=d["steps"],
                      eval_batches=1)  # fmt: skip
    return total + len(d["n_train"]) * run_flops(model.flops_per_token(), model.context, run)


PLANS: dict[str, Callable[[str], float]] = {
    "1_1_next_token_prediction": _lab1_1,
    "1_2_multitask_learning": _lab1_2,
    "1_3_scaling_and_emergence": _lab1_3,
    "1_4_compute_optimal": _lab1_4,
    "2_1_driving_force": _lab2_1,
    "2_2_three_ways_to_read": _lab2_2,
    "3_1_multihead_attention": _lab3_1,
    "3_2_mlp": _lab3_2,
    "3_3_tokenization": _lab3_3,
    "3_4_your_gpt": _lab3_4,
    "4_1_encoder_decoder": _lab4_1,
    "4_2_pretraining_objectives": _lab4_2,
    "4_3_distillation": _lab4_3,
    "5_1_incentives": _lab5_1,
    "5_2_post_training": _lab5_2,
}
