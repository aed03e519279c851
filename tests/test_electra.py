import pytest
import torch
import torch.nn.functional as F

from lmlib.models.transformer import TransformerConfig
from lmlib.training.electra import (
    DISC_WEIGHT,
    Electra,
    ElectraConfig,
    ReplaceMLM,
    electra_loss,
    replaced_token_loss,
    sample_replacements,
)

V = 30
CFG = TransformerConfig(V, context=16, d_model=32, n_heads=4, n_layers=1, causal=False)


def test_a_sampled_original_counts_as_original():
    original = torch.tensor([[3, 4, 5, 6]])
    corrupted = torch.tensor([[3, 9, 5, 6]])  # position 2 was masked, the generator drew 5 back
    masked = torch.tensor([[False, True, True, False]])
    logits = torch.tensor([[0.5, -1.0, 2.0, 0.0]])
    labels = torch.tensor([[0.0, 1.0, 0.0, 0.0]])
    expected = F.binary_cross_entropy_with_logits(logits, labels)
    torch.testing.assert_close(replaced_token_loss(logits, original, corrupted, masked), expected)
    only_masked = F.binary_cross_entropy_with_logits(logits[masked], labels[masked])
    torch.testing.assert_close(
        replaced_token_loss(logits, original, corrupted, masked, all_tokens=False), only_masked
    )


def test_a_generator_that_always_samples_the_original_replaces_nothing():
    original = torch.randint(0, V, (4, 16))
    gen_logits = F.one_hot(original.flatten(), V).float() * 100  # a point mass on the truth
    samples = sample_replacements(gen_logits, torch.Generator().manual_seed(0))
    assert torch.equal(samples, original.flatten())


def test_sampling_follows_the_generator_distribution_and_is_seeded():
    logits = torch.log(torch.tensor([[0.7, 0.2, 0.1]])).expand(20_000, 3)
    s = sample_replacements(logits, torch.Generator().manual_seed(0))
    freq = torch.bincount(s, minlength=3).float() / len(s)
    torch.testing.assert_close(freq, torch.tensor([0.7, 0.2, 0.1]), atol=0.015, rtol=0)
    again = sample_replacements(logits, torch.Generator().manual_seed(0))
    assert torch.equal(s, again)


def test_joint_loss_weight_and_tied_embeddings():
    assert DISC_WEIGHT == 50.0
    assert electra_loss(torch.tensor(2.0), torch.tensor(0.1)).item() == pytest.approx(7.0)
    model = Electra(ElectraConfig(CFG, gen_width=0.25, mask_id=0))
    assert model.generator.tok_emb.weight is model.discriminator.tok_emb.weight
    assert model.generator.config.d_model == 8 and model.encoder is model.discriminator


def test_the_generator_learns_only_from_its_mlm_loss():
    """No gradient flows through the sample: the discriminator's weight leaves the generator's
    gradient (outside the shared embedding) unchanged."""
    idx = torch.randint(1, V, (4, 16))
    grads = []
    for weight in (0.0, 50.0):
        torch.manual_seed(0)
        model = Electra(ElectraConfig(CFG, gen_width=0.25, mask_id=0, weight=weight))
        loss = model(idx, torch.Generator().manual_seed(0))["loss"]
        grads.append(torch.autograd.grad(loss, [model.generator.blocks[0].attn.qkv.weight])[0])
    torch.testing.assert_close(grads[0], grads[1])


def test_training_lowers_the_joint_loss_and_seeds_repeat():
    torch.set_num_threads(1)
    idx = torch.randint(1, V, (8, 16))

    def run():
        torch.manual_seed(0)
        model = Electra(ElectraConfig(CFG, gen_width=0.5, mask_id=0))
        opt = torch.optim.Adam(model.parameters(), lr=5e-3)
        g, losses = torch.Generator().manual_seed(0), []
        for _ in range(40):
            loss = model(idx, g)["loss"]
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses

    a = run()
    assert sum(a[-5:]) < sum(a[:5])
    assert a == run()


def test_generator_flops_count_against_electra():
    small = Electra(ElectraConfig(CFG, gen_width=0.25, mask_id=0))
    big = Electra(ElectraConfig(CFG, gen_width=1.0, mask_id=0))
    disc = small.discriminator.flops_per_token(16)
    assert disc < small.flops_per_token(16) < big.flops_per_token(16)
    assert big.flops_per_token(16) == pytest.approx(
        disc + big.generator.flops_per_token(16, head_share=0.15)
    )


def test_errors_on_bad_input():
    x = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        replaced_token_loss(torch.zeros(2, 3), x, x, x.bool())
    with pytest.raises(TypeError, match="bool"):
        replaced_token_loss(torch.zeros(2, 4), x, x, x)
    with pytest.raises(ValueError, match="temperature"):
        sample_replacements(torch.zeros(2, 3), temperature=0)
    with pytest.raises(ValueError, match="gen_width"):
        ElectraConfig(CFG, gen_width=0)
    with pytest.raises(ValueError, match="weight"):
        electra_loss(torch.tensor(1.0), torch.tensor(1.0), weight=-1)


def test_replace_mlm_reads_no_mask_and_scores_the_masked_originals():
    torch.manual_seed(0)
    model = ReplaceMLM(ElectraConfig(CFG, gen_width=0.25, mask_id=0))
    idx = torch.randint(1, V, (4, 16))
    seen = []
    encode = model.model.encode
    model.model.encode = lambda x: seen.append(x) or encode(x)  # what the kept model reads
    out = model(idx, torch.Generator().manual_seed(1))
    assert len(seen) == 1 and not (seen[0] == 0).any()  # generator samples, never [MASK]
    assert torch.isfinite(out["loss"]) and out["loss"] > out["mlm_loss"]
    grads = torch.autograd.grad(
        out["loss"],
        [model.model.blocks[0].attn.qkv.weight, model.generator.blocks[0].attn.qkv.weight],
    )
    assert all(g.abs().sum() > 0 for g in grads)


def test_all_tokens_mlm_copies_through_its_gate():
    """A gate open everywhere puts all probability on the input token: the loss is zero where
    the input is the original, and large where the generator replaced it."""
    torch.manual_seed(0)
    model = ReplaceMLM(ElectraConfig(CFG, gen_width=0.25, mask_id=0, rate=0.0), all_tokens=True)
    with torch.no_grad():
        model.copy_gate.bias.fill_(30.0)
        model.copy_gate.weight.zero_()
    out = model(torch.randint(1, V, (4, 16)), torch.Generator().manual_seed(0))
    assert out["model_loss"] < 1e-6  # nothing masked: every input token is the original
    model.config = ElectraConfig(CFG, gen_width=0.25, mask_id=0, rate=1.0)
    assert model(torch.randint(1, V, (4, 16)), torch.Generator().manual_seed(0))["model_loss"] > 1


def test_the_steps_between_bert_and_electra_cost_what_they_compute():
    cfg = ElectraConfig(CFG, gen_width=0.25, mask_id=0)
    replace, all_tokens = ReplaceMLM(cfg), ReplaceMLM(cfg, all_tokens=True)
    gen = replace.generator.flops_per_token(16, head_share=0.15)
    assert replace.flops_per_token(16) == pytest.approx(
        gen + replace.model.flops_per_token(16, head_share=0.15)
    )
    assert replace.flops_per_token(16) < all_tokens.flops_per_token(16)
