"""The GPU memory of each lab's largest training run, per profile (lmlib.tools.memory's count).

Each lab lists the models it trains as (name, parameters, activation bytes); parameters are
counted on the model itself where it is not a plain TransformerLM. A model that is not a
Transformer (an RNN, a CNN) and a model of several stacks (encoder-decoder, ELECTRA) is bounded
by a Transformer stand-in of the same width and every stack's layers: each keeps at most a
Transformer layer's activations per token and layer.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from lmlib.experiments.labs import FAMILY_LAYERS, settings
from lmlib.models.transformer import TransformerConfig
from lmlib.tools.memory import activation_bytes, training_bytes, transformer_params

Run = tuple[str, int, int]  # (what, parameters, activation bytes)


def _params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def _transformer(name: str, cfg: TransformerConfig, batch_size: int) -> Run:
    return name, transformer_params(cfg), activation_bytes(cfg, batch_size)


def _lab1_1(profile: str) -> list[Run]:
    from lmlib.experiments.next_token import settings as next_token

    cfg, run = next_token(profile)
    return [_transformer("model", cfg, run.batch_size)]


def _lab1_2(profile: str) -> list[Run]:
    from lmlib.data.multitask import MultitaskCorpus

    lab = settings("1_2_multitask_learning", profile)
    s, w = lab["sizes"], lab["world"]
    V = MultitaskCorpus(w["n_entities"], w["n_quotes"], seed=0).tokenizer.vocab_size
    cfg = TransformerConfig(V, s["context"], s["d_model"], s["n_heads"], s["n_layers"], pos="rope")
    return [_transformer("model", cfg, s["batch_size"])]


def _lab1_3(profile: str) -> list[Run]:
    from lmlib.data.multitask import MultitaskCorpus

    lab = settings("1_3_scaling_and_emergence", profile)
    r = lab["run"]
    V = MultitaskCorpus(r["n_entities"], r["n_quotes"], seed=0).tokenizer.vocab_size
    return [
        _transformer(
            f"{n}x{d}", TransformerConfig(V, r["context"], d, h, n, pos="rope"), r["batch_size"]
        )
        for n, d, h in lab["ladder"]
    ]


def _lab2_1(profile: str) -> list[Run]:
    from lmlib.experiments import crossover

    s = crossover.settings(profile)
    V, P = s.task.vocab_size, s.task.period
    stand_in = TransformerConfig(V, P, s.d_model, 1, max(s.cnn_layers, s.transformer_layers))
    acts = activation_bytes(stand_in, s.batch_size)
    return [(m, _params(crossover.build(m, s)), acts) for m in crossover.MODELS[1:]]


def _lab2_2(profile: str) -> list[Run]:
    from lmlib.models.families import FAMILIES, build_matched

    s = settings("2_2_three_ways_to_read", profile)["sizes"]
    out = []
    for family in FAMILIES:
        model = build_matched(family, s["n_params"], 65, s["context"], FAMILY_LAYERS[family])
        heads = getattr(model.config, "n_heads", 1)
        stand_in = TransformerConfig(
            65, s["context"], model.config.d_model, heads, FAMILY_LAYERS[family]
        )
        out.append((family, _params(model), activation_bytes(stand_in, s["batch_size"])))
    return out


def _lab3_1(profile: str) -> list[Run]:
    s = settings("3_1_multihead_attention", profile)["sizes"]
    cfg = TransformerConfig(65, s["context"], s["d_model"], s["n_heads"], s["n_layers"])
    return [_transformer("model", cfg, s["batch_size"])]


def _lab3_2(profile: str) -> list[Run]:
    from lmlib.experiments.labs import MLP_EXPANSIONS

    s = settings("3_2_mlp", profile)["sizes"]
    return [
        _transformer(
            f"expansion {e}",
            TransformerConfig(65, s["context"], s["d_model"], 4, s["n_layers"], e),
            s["batch_size"],
        )
        for e in MLP_EXPANSIONS
    ]


def _lab3_3(profile: str) -> list[Run]:
    from lmlib.experiments import tokenization as tk

    s = settings("3_3_tokenization", profile)
    # A bound: the largest vocabulary at one byte per token (a merged token spans several).
    cfg = tk.config(s, max(s["bpe_sizes"]), s["window_bytes"])
    return [_transformer("largest vocabulary", cfg, s["batch_size"])]


def _lab3_4(profile: str) -> list[Run]:
    lab = settings("3_4_your_gpt", profile)
    m, B, V = lab["model"], lab["run"]["batch_size"], lab["vocab_size"]  # V: BPE's vocabulary
    sizes = [*lab["ladder"], (m["n_layers"], m["d_model"], m["n_heads"])]
    return [
        _transformer(f"{n}x{d}", TransformerConfig(V, m["context"], d, h, n), B)
        for n, d, h in sizes
    ]


def _lab4_1(profile: str) -> list[Run]:
    from lmlib.experiments.encdec_ladder import LADDER, TASKS, make_task, model_config
    from lmlib.models.encdec import EncoderDecoder

    s = settings("4_1_encoder_decoder", profile)["ladder"]
    out = []
    for task_name in TASKS:
        task = make_task(task_name, dict(n_train=1, n_test=1))
        for name in LADDER:
            cfg = model_config(name, task, s)
            # encoder, decoder and cross-attention: at most three stacks of n_layers
            stand_in = TransformerConfig(
                task.vocab_size, cfg.context, cfg.d_model, cfg.n_heads, 3 * cfg.n_layers
            )
            params = _params(EncoderDecoder(cfg))
            out.append((f"{task_name} {name}", params, activation_bytes(stand_in, s["batch_size"])))
    return out


def _lab4_2(profile: str) -> list[Run]:
    from lmlib.analysis.context_tasks import ContextWorld
    from lmlib.experiments.objectives import build, lab_settings, model_config

    s = lab_settings(profile)
    cfg, mask_id = model_config(s, ContextWorld(s.n_people))
    stand_in = TransformerConfig(  # ELECTRA's generator and discriminator: two stacks at most
        mask_id + 1, s.pretrain.context, cfg.d_model, cfg.n_heads, 2 * cfg.n_layers
    )
    acts = activation_bytes(stand_in, s.pretrain.batch_size)
    return [(run.name, _params(build(run, cfg, mask_id)), acts) for run in s.runs]


def _lab4_3(profile: str) -> list[Run]:
    from lmlib.data.multitask import MultitaskCorpus
    from lmlib.experiments import distill

    s = distill.lab_settings(profile)
    V = MultitaskCorpus(s.n_entities, s.n_quotes, seed=0).tokenizer.vocab_size  # build_world's
    out = []
    for size in (s.teacher, *s.students):
        cfg = TransformerConfig(V, s.context, size.d_model, size.n_heads, size.n_layers)
        out.append(_transformer(size.name, cfg, s.batch_size))
    # a student learns beside its frozen teacher: 4 bytes a teacher weight, no activations kept
    teacher_params, student = out[0][1], out[-1]
    out.append(("student and teacher", student[1] + teacher_params // 4, student[2]))
    return out


def _lab5_1(profile: str) -> list[Run]:
    from lmlib.analysis.quiz import encode_facts
    from lmlib.data.knowledge import KnowledgeBase
    from lmlib.data.tokenizer import WordTokenizer
    from lmlib.experiments.incentives import lab_settings as incentives

    s = incentives(profile)
    kb = KnowledgeBase(s["n_entities"], seed=0)
    tok = WordTokenizer(kb.vocabulary())
    T = encode_facts(kb, tok)[0].shape[-1]  # the fact LM reads whole sentences
    cfg = TransformerConfig(tok.vocab_size, T, s["d_model"], n_heads=2, n_layers=s["n_layers"])
    return [_transformer("fact LM", cfg, s["batch_size"])]


def _lab5_2(profile: str) -> list[Run]:
    from lmlib.experiments import sft_vs_rl

    s = sft_vs_rl.settings(profile)
    cfg = sft_vs_rl.model_config(s)  # pretraining and SFT batches, and RL's prompts x samples
    return [_transformer("GPT on sums", cfg, max(s["batch_size"], s["rl_prompts"] * s["samples"]))]


def _lab1_4(profile: str) -> list[Run]:
    from lmlib.experiments import isoflop

    s = settings("1_4_compute_optimal", profile)
    out = [_transformer(f"width {d}", isoflop.model_config(s, d), s["batch_size"])
           for d in s["widths"]]  # fmt: skip
    return [*out, _transformer("sums", isoflop.sums_model_config(s), s["data"]["batch_size"])]


RUNS: dict[str, Callable[[str], list[Run]]] = {
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


def peak_bytes(lab: str, profile: str = "gpu") -> tuple[str, int]:
    """(the run, its bytes): the lab's largest training run by GPU memory at `profile`."""
    if lab not in RUNS:
        raise ValueError(f"no memory plan for lab {lab!r}; known: {sorted(RUNS)}")
    runs = [(name, training_bytes(n, acts)) for name, n, acts in RUNS[lab](profile)]
    return max(runs, key=lambda r: r[1])
