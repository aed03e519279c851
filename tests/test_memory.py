"""lmlib.tools.memory: the GPU memory of a training run, and every lab's `gpu` run within a T4."""

import pytest

from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.tools import memory
from lmlib.tools.lab_memory import RUNS, peak_bytes

TINY = TransformerConfig(vocab_size=10, context=4, d_model=8, n_heads=2, n_layers=1)


def test_counts_of_a_tiny_model_by_hand():
    # embeddings 10*8 + positions 4*8; a block: two norms 2*16, q k v and out 4*64 + 4*8,
    # the MLP 2*8*32 + 32 + 8; the final norm 16
    assert memory.transformer_params(TINY) == 80 + 32 + (32 + 288 + 552) + 16 == 1000
    # per layer (18*8 + 4*32) * B*T + 5 * H * B * T^2, and 10 bytes a logit
    acts = (18 * 8 + 4 * 32) * 2 * 4 + 5 * 2 * 2 * 16 + 10 * 2 * 4 * 10
    assert memory.activation_bytes(TINY, batch_size=2) == acts == 3296
    assert memory.transformer_training_bytes(TINY, batch_size=2) == 16 * 1000 + 3296


@pytest.mark.parametrize(
    "options",
    [{}, {"bias": False}, {"pos": "rope"}, {"expansion": 0}, {"expansion": 2, "n_layers": 3}],
)
def test_parameter_count_matches_the_model(options):
    cfg = TransformerConfig(**{**vars(TINY), "d_model": 16, **options})
    model = TransformerLM(cfg)
    assert memory.transformer_params(cfg) == sum(p.numel() for p in model.parameters())


def test_activations_grow_with_batch_and_quadratically_in_attention():
    one, two = (memory.activation_bytes(TINY, b) for b in (1, 2))
    assert two == 2 * one
    long = memory.activation_bytes(TINY, 1, context=8)
    assert long > 2 * one  # the T^2 attention term


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="batch_size"):
        memory.activation_bytes(TINY, 0)
    with pytest.raises(ValueError, match="n_params"):
        memory.training_bytes(-1, 0)
    with pytest.raises(ValueError, match="no memory plan"):
        peak_bytes("9_9_nothing")


@pytest.mark.parametrize("lab", sorted(RUNS))
def test_every_lab_fits_a_t4_at_the_gpu_profile(lab):
    name, used = peak_bytes(lab, "gpu")
    assert 0 < used < memory.T4_USABLE_BYTES, f"{lab}: {name} needs {used / memory.GIB:.1f} GiB"
    assert peak_bytes(lab, "ci")[1] < used  # the ci run is the smallest
