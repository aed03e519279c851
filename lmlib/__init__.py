"""lmlib: the small shared library of the course "Language models: why scale wins".

Importing it prints nothing and downloads nothing. The pieces, one module per concept:
device (where and how reproducibly), profiles (how big a run), tokenizer and data, attention,
mlp, transformer, loss, sampling, train, checkpoint.
"""

from .attention import MultiHeadAttention, causal_attention, causal_mask, merge_heads, split_heads
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import CharDataset, DataError, get_batch, tiny_shakespeare
from .device import autocast, pick_device, seed_everything
from .loss import next_token_loss
from .mlp import MLP
from .profiles import by_profile, current_profile
from .sampling import generate, sample_next
from .tokenizer import CharTokenizer
from .train import History, TrainConfig, evaluate, lr_at, train
from .transformer import TransformerConfig, TransformerLM

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "CharDataset",
    "CharTokenizer",
    "CheckpointError",
    "DataError",
    "History",
    "MultiHeadAttention",
    "TrainConfig",
    "TransformerConfig",
    "TransformerLM",
    "autocast",
    "by_profile",
    "causal_attention",
    "causal_mask",
    "current_profile",
    "evaluate",
    "generate",
    "get_batch",
    "load_checkpoint",
    "lr_at",
    "merge_heads",
    "next_token_loss",
    "pick_device",
    "sample_next",
    "save_checkpoint",
    "seed_everything",
    "split_heads",
    "tiny_shakespeare",
    "train",
]
