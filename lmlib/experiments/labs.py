"""Every lab's sizes, per profile: the one source that each notebook's settings cell and
`lmlib budget`'s plans (lmlib/tools/plans.py) read, so the two cannot drift apart.

The next-token, incentives and post-training labs size their runs through their experiments' own
``settings(profile)`` (lmlib.experiments.next_token, lmlib.experiments.incentives,
lmlib.experiments.sft_vs_rl); this module holds the rest.
"""

from __future__ import annotations

from lmlib.runtime.profiles import PROFILES, current_profile

_LABS: dict[str, dict[str, dict]] = {
    "3_1_multihead_attention": {
        "ci": dict(
            sizes=dict(d_model=32, n_heads=4, n_layers=2, context=48, batch_size=16, steps=30),
            eval_batches=2,
        ),
        "cpu": dict(
            sizes=dict(d_model=128, n_heads=4, n_layers=2, context=64, batch_size=32, steps=600),
            eval_batches=10,
        ),
        "gpu": dict(
            sizes=dict(d_model=384, n_heads=6, n_layers=6, context=256, batch_size=64, steps=1400),
            eval_batches=20,
        ),
    },
    "1_2_multitask_learning": {
        "ci": dict(
            sizes=dict(n_layers=2, d_model=16, n_heads=2, context=32, batch_size=8, steps=40,
                       every=10),
            world=dict(n_entities=30, n_quotes=8),
        ),
        "cpu": dict(
            sizes=dict(n_layers=2, d_model=64, n_heads=4, context=64, batch_size=16, steps=1000,
                       every=50),
            world=dict(n_entities=400, n_quotes=32),
        ),
        "gpu": dict(
            sizes=dict(n_layers=8, d_model=384, n_heads=6, context=128, batch_size=32, steps=3300,
                       every=100),
            world=dict(n_entities=400, n_quotes=32),
        ),
    },
    "1_3_scaling_and_emergence": {  # ladder: (n_layers, d_model, n_heads), the last one predicted
        "ci": dict(
            ladder=[(1, 8, 2), (1, 16, 2), (2, 16, 2), (2, 32, 2)],
            run=dict(steps=30, batch_size=8, context=32, n_entities=30, n_quotes=8),
        ),
        "cpu": dict(
            ladder=[(1, 16, 2), (1, 32, 2), (2, 32, 2), (2, 64, 4)],
            run=dict(steps=500, batch_size=16, context=64, n_entities=400, n_quotes=32),
        ),
        "gpu": dict(
            ladder=[(1, 32, 2), (2, 64, 4), (3, 96, 4), (4, 128, 4), (4, 192, 6), (4, 256, 8),
                    (6, 384, 6), (8, 512, 8)],
            run=dict(steps=3000, batch_size=32, context=64, n_entities=400, n_quotes=32),
        ),
    },
    "2_2_three_ways_to_read": {  # copy: a gap longer than the small CNN's window of 15 tokens
        "ci": dict(
            sizes=dict(n_params=8_000, context=16, batch_size=4, steps=6),
            seq_lengths=[16, 32], copy=dict(gap=24, steps=3), eval_batches=1, tokens=128,
        ),
        "cpu": dict(
            sizes=dict(n_params=100_000, context=64, batch_size=32, steps=300),
            seq_lengths=[64, 128, 256, 512, 1024], copy=dict(gap=24, steps=150),
            eval_batches=8, tokens=2048,
        ),
        "gpu": dict(
            sizes=dict(n_params=2_000_000, context=256, batch_size=64, steps=2500),
            seq_lengths=[64, 256, 1024], copy=dict(gap=48, steps=400), eval_batches=20,
            tokens=8192,
        ),
    },
    "3_2_mlp": {
        "ci": dict(
            sizes=dict(d_model=16, n_layers=1, context=16, batch_size=4, base_steps=4,
                       seeds=[0, 1]),
            probe_steps=5, toy_steps=30, eval_batches=1,
        ),
        "cpu": dict(
            sizes=dict(d_model=64, n_layers=2, context=64, batch_size=16, base_steps=120,
                       seeds=[0, 1, 2]),
            probe_steps=150, toy_steps=300, eval_batches=10,
        ),
        "gpu": dict(
            sizes=dict(d_model=128, n_layers=4, context=128, batch_size=64, base_steps=2050,
                       seeds=[0, 1, 2]),
            probe_steps=400, toy_steps=300, eval_batches=20,
        ),
    },
    "3_3_tokenization": {  # lmlib.experiments.tokenization: bits per byte, and sums
        "ci": dict(
            d_model=16, n_heads=2, n_layers=1, batch_size=4, window_bytes=32, char_steps=20,
            text_chars=20_000, bpe_sizes=[300, 400], max_words=300, eval_batches=2, jobs=1,
            seeds=[0, 1],
            arithmetic=dict(max_digits=2, n_train=400, n_test=10, vocab_size=300,
                            window_bytes=32, steps=8, checkpoints=[4, 8]),
        ),
        "cpu": dict(
            d_model=64, n_heads=4, n_layers=2, batch_size=16, window_bytes=64, char_steps=250,
            text_chars=None, bpe_sizes=[512, 2048], max_words=2048, eval_batches=8,
            jobs=2, seeds=[0, 1, 2],
            arithmetic=dict(max_digits=2, n_train=20_000, n_test=100, vocab_size=1024,
                            window_bytes=32, steps=1600, checkpoints=[400, 800, 1600]),
        ),
        "gpu": dict(
            d_model=192, n_heads=4, n_layers=4, batch_size=64, window_bytes=128,
            char_steps=1000, text_chars=None, bpe_sizes=[512, 1024, 2048], max_words=8192,
            eval_batches=20, seeds=[0, 1, 2], jobs=1,
            arithmetic=dict(max_digits=2, n_train=100_000, n_test=500, vocab_size=1024,
                            window_bytes=32, steps=3000, checkpoints=[750, 1500, 3000]),
        ),
    },
    "3_4_your_gpt": {  # model: the student's GPT; ladder: (n_layers, d_model, n_heads), smaller;
        # vocab_size: BPE trained on the first 90% of the first text_chars characters (None: all)
        "ci": dict(
            vocab_size=512, text_chars=100_000,
            model=dict(n_layers=2, d_model=32, n_heads=2, context=32),
            run=dict(steps=30, batch_size=8, lr=3e-3, warmup_steps=3, eval_every=10,
                     eval_batches=2),
            ladder=[(1, 8, 2), (1, 16, 2)], sample_tokens=100,
        ),
        "cpu": dict(
            vocab_size=512, text_chars=None,
            model=dict(n_layers=4, d_model=128, n_heads=4, context=128),
            run=dict(steps=600, batch_size=16, lr=3e-3, warmup_steps=60, eval_every=60,
                     eval_batches=8),
            ladder=[(2, 32, 2), (2, 64, 4), (3, 96, 4)], sample_tokens=400,
        ),
        "gpu": dict(
            vocab_size=1024, text_chars=None,
            model=dict(n_layers=6, d_model=384, n_heads=6, context=256),
            run=dict(steps=1400, batch_size=64, lr=3e-3, warmup_steps=140, eval_every=100,
                     eval_batches=20),
            ladder=[(2, 64, 4), (4, 128, 4), (4, 192, 6)], sample_tokens=1000,
        ),
    },
    "4_1_encoder_decoder": {  # the ladder of lmlib.experiments.encdec_ladder, smaller
        "ci": dict(
            ladder=dict(model=dict(d_model=16, n_heads=2, n_layers=1), batch_size=8,
                        base_steps={"fact_lookup": 4, "lexicon_translation": 4},
                        tasks=dict(n_train=64, n_test=8), seeds=2, jobs=1),
        ),
        "cpu": dict(
            ladder=dict(model=dict(d_model=32, n_heads=4, n_layers=2), batch_size=32,
                        base_steps={"fact_lookup": 300, "lexicon_translation": 150},
                        tasks=dict(n_train=5_000, n_test=256), seeds=2, jobs=1),
        ),
        "gpu": dict(
            ladder=dict(model=dict(d_model=256, n_heads=8, n_layers=4), batch_size=128,
                        base_steps={"fact_lookup": 3000, "lexicon_translation": 1500},
                        tasks=dict(n_train=50_000, n_test=1024), seeds=2, jobs=1),
        ),
    },
    # lmlib.experiments.isoflop's sizes, one seed (cpu: its seed 0); gpu: its budgets doubled
    # and its widths one rung up, so that one seed fills a T4's minutes
    "1_4_compute_optimal": {
        "ci": dict(
            budgets=[1e8, 3e8, 1e9], widths=[4, 6, 8, 12, 16, 24, 32], n_layers=2, n_heads=1,
            context=32, batch_size=8, lr=3e-3, eval_batches=4, seeds=[0],
            data=dict(n_train=[16, 64, 256], n_test=50, steps=30, d_model=16, batch_size=16),
        ),
        "cpu": dict(
            budgets=[3e10, 1e11, 3e11], widths=[6, 8, 12, 16, 24, 32, 48], n_layers=2,
            n_heads=1, context=64, batch_size=32, lr=3e-3, eval_batches=64, seeds=[0],
            data=dict(n_train=[125, 500, 2000], n_test=400, steps=3000, d_model=64,
                      batch_size=32),
        ),
        "gpu": dict(
            budgets=[2e13, 6.32e13, 2e14], widths=[32, 48, 64, 96, 128, 192, 256], n_layers=2,
            n_heads=1, context=64, batch_size=256, lr=3e-3, eval_batches=64, seeds=[0],
            data=dict(n_train=[125, 250, 500, 1000, 2000, 4000, 8000], n_test=1000, steps=6000,
                      d_model=128, batch_size=64),
        ),
    },
}  # fmt: skip

FAMILY_LAYERS = {
    "rnn": 2,
    "cnn": 4,
    "transformer": 2,
}  # the families lab: the CNN needs depth to widen its window
MLP_EXPANSIONS = [0, 1, 2, 4, 8]  # the MLP lab's ablation; 0 removes the MLP


def settings(lab: str, profile: str | None = None) -> dict:
    """The sizes of `lab` (e.g. "3_1_multihead_attention") at `profile` (default: the active one).

    A fresh copy each call, so a notebook that edits its sizes changes nothing here.
    """
    if lab not in _LABS:
        raise ValueError(f"no settings for lab {lab!r}; known: {sorted(_LABS)}")
    profile = profile or current_profile()
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; use one of {PROFILES}")
    return _copy(_LABS[lab][profile])


def _copy(value):
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value
