"""The scaling sweep's design, checked before it runs: ladders without confounds, held-out probes
that are held out, a memo trap the instrument can read, and a gpu profile that fits a T4."""

import math

import pytest

from lmlib.analysis.probes import HELD_OUT
from lmlib.experiments import scaling
from lmlib.models.transformer import TransformerConfig
from lmlib.tools.budget import T4_ACHIEVED_FLOPS
from lmlib.tools.memory import T4_USABLE_BYTES, activation_bytes, training_bytes, transformer_params


def vocab(profile: str) -> int:
    s = scaling.settings(profile)
    corpus = scaling.MultitaskCorpus(
        s.n_entities, s.n_quotes, copy_lengths=s.copy_lengths, quote_endings=s.quote_endings
    )
    return corpus.tokenizer.vocab_size


def total_compute(profile: str) -> float:
    s, v = scaling.settings(profile), vocab(profile)
    return sum(scaling.size_compute(s, z, v) for z in s.sizes) * len(s.seeds)


@pytest.mark.parametrize("profile", ["cpu", "gpu"])
def test_one_depth_at_widths_evenly_spaced_in_log_compute(profile):
    s, v = scaling.settings(profile), vocab(profile)
    main = [z for z in s.sizes if z.ladder == "main"]
    assert len(main) >= 8 and len({(z.n_layers, z.n_heads) for z in main}) == 1
    logc = [math.log10(scaling.size_compute(s, z, v)) for z in main]
    gaps = [b - a for a, b in zip(logc, logc[1:])]
    assert all(0.1 <= g <= 0.2 for g in gaps), gaps
    control = [z for z in s.sizes if z.ladder == "control"]
    assert len(control) >= 4 and {z.n_layers for z in control} == {main[0].n_layers - 1}
    assert {z.n_heads for z in control} == {main[0].n_heads}  # only the depth differs
    one = [z for z in s.sizes if z.ladder == "one"]
    assert one and {z.n_layers for z in one} == {1}
    assert max(scaling.size_compute(s, z, v) for z in one) < scaling.size_compute(s, main[0], v)


def test_cpu_instruments_are_big_enough():
    s = scaling.settings("cpu")
    assert s.sum_items >= 2000 and s.n_quotes >= 512 and len(s.seeds) >= 3
    assert s.held_out_windows * s.context >= 64 * 1024  # the final loss: >= 64K tokens
    corpus, _, _, probes = scaling.build_world(scaling.settings("ci"))
    lengths = {len(q) for q in corpus.quotes}
    assert s.copy_lengths[0] <= min(lengths) and max(lengths) <= s.copy_lengths[1]
    assert set(probes) >= {"arithmetic_3", "memo_trap", "copying", "arithmetic_1_seen"}


def test_every_held_out_probe_is_absent_from_the_training_stream():
    """Regenerate the ci training stream with the corpus's own sampler: no held-out item in it,
    every `_seen` item in it."""
    s = scaling.settings("ci")
    corpus, stream, _, probes = scaling.build_world(s)
    for name, overlap, n in overlaps(corpus, len(stream.ids), probes):
        assert overlap == (n if name.endswith("_seen") else 0), name


def overlaps(corpus, n_tokens: int, probes: dict) -> list[tuple[str, int, int]]:
    """(probe, items found in the training stream, items) of every held-out family and its
    `_seen` part. An item counts as found if a training sentence is that item, or (for the memo
    trap, which has no end word) begins with it."""
    sentences = list(corpus.sentences(n_tokens, 0))
    whole = {x.words[:-1] for x in sentences}  # without the end word
    starts = {x.words[:k] for x in sentences if x.family == "copying" for k in range(len(x.words))}
    out = []
    for name, p in probes.items():
        if name.removesuffix("_seen") not in HELD_OUT:
            continue
        items = [words(corpus.tokenizer, p, i) for i in range(len(p.idx))]
        out.append((name, sum(w in whole or w in starts for w in items), len(items)))
    return out


def words(tok, p, i: int) -> tuple[str, ...]:
    """The words of probe item i up to its end word (its targets are the sentence's words)."""
    row = tok.decode(p.targets[i].tolist())
    return tuple(row[: row.index(".")] if "." in row else row)


def test_gpu_profile_is_ten_t4_minutes_and_thirty_times_the_cpu_compute():
    gpu = total_compute("gpu")
    minutes = gpu / T4_ACHIEVED_FLOPS / 60
    assert 8 <= minutes <= 12, minutes
    assert gpu >= 30 * total_compute("cpu")


def test_every_gpu_configuration_fits_a_t4():
    s, v = scaling.settings("gpu"), vocab("gpu")
    for z in s.sizes:
        cfg = TransformerConfig(v, s.context, z.d_model, z.n_heads, z.n_layers, pos="rope")
        need = training_bytes(transformer_params(cfg), activation_bytes(cfg, s.train.batch_size))
        # the held-out evaluation holds the logits of all its windows at once (and two copies)
        evaluation = 4 * s.held_out_windows * s.context * v * 3
        assert need + evaluation < T4_USABLE_BYTES, (z, need + evaluation)
