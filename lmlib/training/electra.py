"""ELECTRA: a small generator fills the masks, a discriminator spots the replaced tokens.

Dims: B batch, T tokens, D discriminator width, G generator width, V vocabulary, N masked
positions in the batch.

One step, after Clark et al. (2020):
1. choose positions (rate 15%) and put [MASK] there;
2. the generator, a small masked LM, predicts those positions; its loss is the MLM loss;
3. a replacement is *sampled* from the generator at each masked position (no gradient flows
   through the sample), giving the corrupted sequence;
4. the discriminator labels every token replaced (1) or original (0). A position where the
   generator sampled the original token counts as original;
5. the joint loss is mlm_loss + weight * disc_loss (the paper's weight: 50).
Generator and discriminator share their token embeddings. After pretraining only the
discriminator is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from lmlib.models.encoder import Encoder
from lmlib.models.transformer import TransformerConfig
from lmlib.training.masking import IGNORE, mask_tokens, masked_lm_loss

DISC_WEIGHT = 50.0  # the paper's lambda


def sample_replacements(
    gen_logits: Tensor, generator: torch.Generator | None = None, temperature: float = 1.0
) -> Tensor:
    """(N, V) generator logits at the masked positions -> (N,) sampled token ids."""
    if gen_logits.dim() != 2:
        raise ValueError(f"gen_logits must be (N, V), got {tuple(gen_logits.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if gen_logits.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long, device=gen_logits.device)
    probs = (gen_logits.detach().float() / temperature).softmax(dim=-1)
    return torch.multinomial(probs, 1, generator=generator)[:, 0]


def replaced_token_loss(
    disc_logits: Tensor,
    original: Tensor,
    corrupted: Tensor,
    masked: Tensor,
    all_tokens: bool = True,
) -> Tensor:
    """Replaced-token detection: binary cross-entropy of (B, T) logits against the label
    ``corrupted != original`` (1 = replaced), averaged over every position (``all_tokens``)
    or over the masked ones only (ELECTRA 15%). ``masked`` marks the positions the generator
    filled; a filled position holding the original token is labelled original, not replaced."""
    if not disc_logits.shape == original.shape == corrupted.shape == masked.shape:
        raise ValueError(
            "disc_logits, original, corrupted and masked must all be (B, T); got "
            f"{tuple(disc_logits.shape)}, {tuple(original.shape)}, {tuple(corrupted.shape)}, "
            f"{tuple(masked.shape)}"
        )
    if masked.dtype != torch.bool:
        raise TypeError(f"masked must be a bool tensor, got {masked.dtype}")
    labels = (corrupted != original).float()
    losses = F.binary_cross_entropy_with_logits(disc_logits.float(), labels, reduction="none")
    if all_tokens:
        return losses.mean()
    if not bool(masked.any()):
        return losses.sum() * 0.0
    return losses[masked].mean()


def electra_loss(mlm_loss: Tensor, disc_loss: Tensor, weight: float = DISC_WEIGHT) -> Tensor:
    """The joint objective: the generator's MLM loss plus ``weight`` x the discriminator's."""
    if weight < 0:
        raise ValueError(f"weight must be >= 0, got {weight}")
    return mlm_loss + weight * disc_loss


@dataclass(frozen=True)
class ElectraConfig:
    disc: TransformerConfig  # the discriminator (the model kept)
    gen_width: float = 0.25  # generator d_model as a fraction of the discriminator's
    mask_id: int = 0
    rate: float = 0.15
    weight: float = DISC_WEIGHT
    all_tokens: bool = True  # False: ELECTRA 15%, the discriminator's loss on masked positions

    def __post_init__(self):
        if not 0 < self.gen_width <= 4:
            raise ValueError(f"gen_width must be in (0, 4], got {self.gen_width}")
        if not 0 <= self.mask_id < self.disc.vocab_size:
            raise ValueError(f"mask_id={self.mask_id} is not in the vocabulary")

    @property
    def gen(self) -> TransformerConfig:
        """The generator: the discriminator's depth at width gen_width x D, heads of the
        discriminator's head width (at least one head)."""
        d = self.disc
        head_width = d.d_model // d.n_heads
        width = max(1, round(self.gen_width * d.d_model))
        n_heads = max(1, width // head_width)
        while width % n_heads:
            n_heads -= 1
        return replace(d, d_model=width, n_heads=n_heads, causal=False)


class Electra(nn.Module):
    """Generator and discriminator with tied token embeddings; ``forward(idx)`` -> losses."""

    def __init__(self, cfg: ElectraConfig):
        super().__init__()
        self.config = cfg
        self.discriminator = Encoder(cfg.disc, n_classes=1)
        self.generator = Encoder(cfg.gen, tok_emb=self.discriminator.tok_emb)

    @property
    def encoder(self) -> Encoder:
        """The model kept after pretraining."""
        return self.discriminator

    def forward(self, idx: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """idx (B, T) -> {"loss", "mlm_loss", "disc_loss", "replaced", "disc_accuracy"}."""
        cfg = self.config
        masked_in, labels = mask_tokens(
            idx, cfg.rate, cfg.mask_id, cfg.disc.vocab_size, generator, 1.0, 0.0
        )
        masked = labels != IGNORE  # (B, T)
        h = self.generator.encode(masked_in)  # (B, T, G)
        gen_logits = self.generator.head(h[masked])  # (N, V): the head only where it is used
        mlm = masked_lm_loss(gen_logits, labels[masked])
        corrupted = idx.clone()
        corrupted[masked] = sample_replacements(gen_logits, generator)
        disc_logits = self.discriminator(corrupted)[..., 0]  # (B, T)
        disc = replaced_token_loss(disc_logits, idx, corrupted, masked, cfg.all_tokens)
        replaced = corrupted != idx
        with torch.no_grad():
            accuracy = ((disc_logits > 0) == replaced).float().mean()
        return {
            "loss": electra_loss(mlm, disc, cfg.weight),
            "mlm_loss": mlm.detach(),
            "disc_loss": disc.detach(),
            "replaced": replaced.float().mean(),
            "disc_accuracy": accuracy,
        }

    def flops_per_token(self, T: int | None = None) -> float:
        """Training FLOPs per token of one step: the generator's (its head at the masked
        share of positions) plus the discriminator's."""
        rate = self.config.rate
        return self.generator.flops_per_token(T, head_share=rate) + (
            self.discriminator.flops_per_token(T)
        )


class ReplaceMLM(nn.Module):
    """Two of Clark et al.'s steps between BERT and ELECTRA, with ELECTRA's generator.

    The generator fills the masked positions with samples, as in ELECTRA, so the model kept
    never sees [MASK]; the model kept is a masked LM (tied token head) that names the originals:
    - ``all_tokens=False`` (Replace MLM): at the masked positions only;
    - ``all_tokens=True`` (All-Tokens MLM): at every position, through a copy mechanism: a
      sigmoid gate c per token puts c on the input token and 1 - c on the softmax.
    Loss: the generator's MLM loss plus the kept model's.
    """

    def __init__(self, cfg: ElectraConfig, all_tokens: bool = False):
        super().__init__()
        self.config, self.all_tokens = cfg, all_tokens
        self.model = Encoder(cfg.disc)
        self.generator = Encoder(cfg.gen, tok_emb=self.model.tok_emb)
        self.copy_gate = nn.Linear(cfg.disc.d_model, 1) if all_tokens else None

    @property
    def encoder(self) -> Encoder:
        return self.model

    def forward(self, idx: Tensor, generator: torch.Generator | None = None) -> dict[str, Tensor]:
        """idx (B, T) -> {"loss", "mlm_loss", "model_loss"}."""
        cfg = self.config
        masked_in, labels = mask_tokens(
            idx, cfg.rate, cfg.mask_id, cfg.disc.vocab_size, generator, 1.0, 0.0
        )
        masked = labels != IGNORE  # (B, T)
        gen_logits = self.generator.head(self.generator.encode(masked_in)[masked])  # (N, V)
        mlm = masked_lm_loss(gen_logits, labels[masked])
        corrupted = idx.clone()
        corrupted[masked] = sample_replacements(gen_logits, generator)
        h = self.model.encode(corrupted)  # (B, T, D)
        if self.copy_gate is None:
            loss = masked_lm_loss(self.model.head(h[masked]), idx[masked])
        else:
            p_model = self.model.head(h).float().softmax(-1)  # (B, T, V)
            c = torch.sigmoid(self.copy_gate(h).float())  # (B, T, 1)
            p = (1 - c) * p_model + c * F.one_hot(corrupted, p_model.shape[-1])
            loss = -p.gather(-1, idx[..., None]).clamp_min(1e-9).log().mean()
        return {"loss": mlm + loss, "mlm_loss": mlm.detach(), "model_loss": loss.detach()}

    def flops_per_token(self, T: int | None = None) -> float:
        rate = self.config.rate
        share = 1.0 if self.all_tokens else rate
        return self.generator.flops_per_token(T, head_share=rate) + (
            self.model.flops_per_token(T, head_share=share)
        )
