import pytest
import torch

from lmlib.training.denoising import (
    document_rotation,
    infill_spans,
    sample_infill_spans,
    sentence_permutation,
    text_infilling,
    token_deletion,
    token_masking,
)

MASK, END = 0, 1


def test_infill_spans_replaces_each_span_by_one_mask_and_inserts_for_length_zero():
    tokens = torch.tensor([10, 11, 12, 13, 14, 15, 16])
    spans = torch.tensor([[1, 2], [4, 0], [5, 1]])
    assert infill_spans(tokens, spans, MASK).tolist() == [10, 0, 13, 0, 14, 0, 16]


def test_span_lengths_are_poisson_3_and_30_percent_is_masked():
    lengths, masked = [], 0
    for seed in range(100):
        spans = sample_infill_spans(1000, generator=torch.Generator().manual_seed(seed))
        lengths += spans[:-1, 1].tolist()  # the last one is cut to fit the budget
        masked += spans[:, 1].sum().item()
        ends = spans[:, 0] + spans[:, 1]
        assert (spans[1:, 0] >= ends[:-1]).all() and ends[-1] <= 1000  # sorted and disjoint
    lengths = torch.tensor(lengths, dtype=torch.float)
    assert masked == 100 * 300
    assert lengths.mean().item() == pytest.approx(3.0, abs=0.1)
    assert lengths.var().item() == pytest.approx(3.0, abs=0.3)  # Poisson: variance = mean
    assert (lengths == 0).float().mean().item() == pytest.approx(
        torch.exp(torch.tensor(-3.0)).item(), abs=0.01
    )


def test_text_infilling_keeps_the_rest_in_order_and_repeats_with_a_seed():
    tokens = torch.arange(2, 202)
    a = text_infilling(tokens, MASK, generator=torch.Generator().manual_seed(0))
    b = text_infilling(tokens, MASK, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a, b)
    kept = a[a != MASK]
    assert len(kept) == 140 and (kept.diff() > 0).all()  # 30% gone, the rest in order


def test_masking_deletion_rates_and_permutation_rotation_keep_the_tokens():
    tokens = torch.randint(2, 50, (20_000,))
    g = torch.Generator().manual_seed(0)
    assert (token_masking(tokens, MASK, 0.2, g) == MASK).float().mean().item() == pytest.approx(
        0.2, abs=0.01
    )
    assert len(token_deletion(tokens, 0.2, g)) / len(tokens) == pytest.approx(0.8, abs=0.01)
    doc = torch.tensor([5, 6, END, 7, END, 8, 9, 9, END])
    perm = sentence_permutation(doc, END, torch.Generator().manual_seed(1))

    def sentences(d):
        ends = [i + 1 for i, t in enumerate(d.tolist()) if t == END]
        return sorted(tuple(d[a:b].tolist()) for a, b in zip([0, *ends], ends))

    assert sorted(perm.tolist()) == sorted(doc.tolist()) and perm[-1] == END
    assert sentences(perm) == sentences(doc)
    rot = document_rotation(doc, torch.Generator().manual_seed(2))
    # a rotation of doc is a window of doc + doc
    assert any(torch.equal(rot, torch.cat([doc, doc])[i : i + len(doc)]) for i in range(len(doc)))


def test_errors_on_bad_input():
    tokens = torch.arange(10)
    with pytest.raises(ValueError, match="sorted and disjoint"):
        infill_spans(tokens, torch.tensor([[3, 4], [5, 1]]), MASK)
    with pytest.raises(ValueError, match=r"\(S, 2\)"):
        infill_spans(tokens, torch.tensor([1, 2]), MASK)
    with pytest.raises(ValueError, match="rate"):
        sample_infill_spans(10, rate=1.5)
    with pytest.raises(ValueError, match=r"\(T,\)"):
        token_deletion(tokens[None], 0.1)
