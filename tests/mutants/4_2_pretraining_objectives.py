"""Plausible wrong answers for lab 4.2; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_H = "# EXERCISE: {}\nimport torch\nimport torch.nn.functional as F\n\n"
MT = _H.format("mask_tokens") + "def mask_tokens(idx, rate, mask_id, vocab_size, seed):\n"
_DRAWS = (
    "    g = torch.Generator().manual_seed(seed)\n"
    "    u = torch.rand(idx.shape, generator=g)\n"
    "    a = torch.rand(idx.shape, generator=g)\n"
    "    r = torch.randint(vocab_size, idx.shape, generator=g)\n"
    "    chosen = u < rate\n"
)
_LABELS = "    labels = torch.where(chosen, idx, torch.full_like(idx, -100))\n"


def _mt(mask: str, rand: str, labels: str = _LABELS, draws: str = _DRAWS) -> str:
    return (
        MT
        + draws
        + f"    inputs = torch.where(chosen & ({mask}), torch.full_like(idx, mask_id), idx)\n"
        + f"    inputs = torch.where(chosen & ({rand}), r, inputs)\n"
        + labels
        + "    return inputs, labels\n"
    )


RTD = (
    _H.format("replaced_token_loss")
    + "def replaced_token_loss(disc_logits, original, corrupted, masked):\n"
)
SC = _H.format("span_corrupt") + "def span_corrupt(tokens, noise_mask, sentinels):\n"
_RUNS = (
    "    spans, t = [], 0\n"
    "    m = noise_mask.tolist()\n"
    "    while t < len(m):\n"
    "        if m[t]:\n"
    "            s = t\n"
    "            while t < len(m) and m[t]:\n"
    "                t += 1\n"
    "            spans.append((s, t))\n"
    "        else:\n"
    "            t += 1\n"
)


def _sc(body: str) -> str:
    return SC + _RUNS + body


TI = _H.format("text_infill") + "def text_infill(tokens, spans, mask_id):\n"
_MASK = "torch.tensor([mask_id], dtype=tokens.dtype)"

MUTANTS = {
    "mask_tokens": {
        "no_random_replacement": _mt("a < 0.8", "a < 0"),
        "shares_swapped_10_10_80": _mt("a >= 0.2", "(a >= 0.1) & (a < 0.2)"),
        "every_chosen_token_masked": _mt("a >= 0", "a < 0"),
        "labels_everywhere": _mt("a < 0.8", "(a >= 0.8) & (a < 0.9)", "    labels = idx.clone()\n"),
        "labels_only_where_masked": _mt(
            "a < 0.8",
            "(a >= 0.8) & (a < 0.9)",
            "    labels = torch.where(chosen & (a < 0.8), idx, torch.full_like(idx, -100))\n",
        ),
        "draws_in_another_order": _mt(
            "a < 0.8",
            "(a >= 0.8) & (a < 0.9)",
            draws=_DRAWS.replace("u = torch.rand", "TMP = torch.rand")
            .replace("a = torch.rand", "u = torch.rand")
            .replace("TMP = torch.rand", "a = torch.rand"),
        ),
        "chosen_when_u_above_rate": _mt(
            "a < 0.8", "(a >= 0.8) & (a < 0.9)", draws=_DRAWS.replace("u < rate", "u > 1 - rate")
        ),
    },
    "replaced_token_loss": {
        "masked_positions_count_as_replaced": RTD
        + "    return F.binary_cross_entropy_with_logits(disc_logits, masked.float())\n",
        "labels_flipped": RTD
        + "    y = (corrupted == original).float()\n"
        + "    return F.binary_cross_entropy_with_logits(disc_logits, y)\n",
        "loss_on_masked_positions_only": RTD
        + "    y = (corrupted != original).float()\n"
        + "    return F.binary_cross_entropy_with_logits(disc_logits[masked], y[masked])\n",
        "summed_not_averaged": RTD
        + "    y = (corrupted != original).float()\n"
        + "    return F.binary_cross_entropy_with_logits(disc_logits, y, reduction='sum')\n",
        "sigmoid_applied_twice": RTD
        + "    y = (corrupted != original).float()\n"
        + "    return F.binary_cross_entropy_with_logits(disc_logits.sigmoid(), y)\n",
        "squared_error": RTD
        + "    y = (corrupted != original).float()\n"
        + "    return ((disc_logits.sigmoid() - y) ** 2).mean()\n",
    },
    "span_corrupt": {
        "no_final_sentinel": _sc(
            "    inp, tgt, prev = [], [], 0\n"
            "    for k, (s, e) in enumerate(spans):\n"
            "        inp += tokens[prev:s].tolist() + [int(sentinels[k])]\n"
            "        tgt += [int(sentinels[k])] + tokens[s:e].tolist()\n"
            "        prev = e\n"
            "    inp += tokens[prev:].tolist()\n"
            "    return torch.tensor(inp), torch.tensor(tgt)\n"
        ),
        "one_sentinel_for_every_span": _sc(
            "    inp, tgt, prev = [], [], 0\n"
            "    for k, (s, e) in enumerate(spans):\n"
            "        inp += tokens[prev:s].tolist() + [int(sentinels[0])]\n"
            "        tgt += [int(sentinels[0])] + tokens[s:e].tolist()\n"
            "        prev = e\n"
            "    inp += tokens[prev:].tolist()\n"
            "    return torch.tensor(inp), torch.tensor(tgt + [int(sentinels[len(spans)])])\n"
        ),
        "a_sentinel_per_token": SC
        + "    k = torch.cumsum(noise_mask.long(), 0) - 1\n"
        + "    inp = torch.where(noise_mask, sentinels[k.clamp(min=0)], tokens)\n"
        + "    n = int(noise_mask.sum())\n"
        + "    tgt = torch.stack([sentinels[:n], tokens[noise_mask]], 1).flatten()\n"
        + "    return inp, torch.cat([tgt, sentinels[n : n + 1]])\n",
        "target_without_sentinels": _sc(
            "    inp, tgt, prev = [], [], 0\n"
            "    for k, (s, e) in enumerate(spans):\n"
            "        inp += tokens[prev:s].tolist() + [int(sentinels[k])]\n"
            "        tgt += tokens[s:e].tolist()\n"
            "        prev = e\n"
            "    inp += tokens[prev:].tolist()\n"
            "    return torch.tensor(inp), torch.tensor(tgt)\n"
        ),
        "input_keeps_the_spans": _sc(
            "    inp, tgt, prev = [], [], 0\n"
            "    for k, (s, e) in enumerate(spans):\n"
            "        inp += tokens[prev:e].tolist() + [int(sentinels[k])]\n"
            "        tgt += [int(sentinels[k])] + tokens[s:e].tolist()\n"
            "        prev = e\n"
            "    inp += tokens[prev:].tolist()\n"
            "    return torch.tensor(inp), torch.tensor(tgt + [int(sentinels[len(spans)])])\n"
        ),
        "sentinels_in_reverse_order": _sc(
            "    inp, tgt, prev = [], [], 0\n"
            "    K = len(spans)\n"
            "    for k, (s, e) in enumerate(spans):\n"
            "        inp += tokens[prev:s].tolist() + [int(sentinels[K - k])]\n"
            "        tgt += [int(sentinels[K - k])] + tokens[s:e].tolist()\n"
            "        prev = e\n"
            "    inp += tokens[prev:].tolist()\n"
            "    return torch.tensor(inp), torch.tensor(tgt + [int(sentinels[0])])\n"
        ),
    },
    "text_infill": {
        "one_mask_per_token": TI
        + "    out = tokens.clone()\n"
        + "    for s, n in spans.tolist():\n"
        + "        out[s : s + n] = mask_id\n"
        + "    return out\n",
        "length_zero_spans_ignored": TI
        + "    out, prev = [], 0\n"
        + "    for s, n in spans.tolist():\n"
        + "        if n == 0:\n"
        + "            continue\n"
        + f"        out += [tokens[prev:s], {_MASK}]\n"
        + "        prev = s + n\n"
        + "    return torch.cat(out + [tokens[prev:]])\n",
        "spans_deleted_without_a_mask": TI
        + "    out, prev = [], 0\n"
        + "    for s, n in spans.tolist():\n"
        + "        out += [tokens[prev:s]]\n"
        + "        prev = s + n\n"
        + "    return torch.cat(out + [tokens[prev:]])\n",
        "mask_after_the_kept_token": TI
        + "    out, prev = [], 0\n"
        + "    for s, n in spans.tolist():\n"
        + f"        out += [tokens[prev : s + 1], {_MASK}]\n"
        + "        prev = s + n + 1\n"
        + "    return torch.cat(out + [tokens[prev:]])\n",
        "span_one_token_too_long": TI
        + "    out, prev = [], 0\n"
        + "    for s, n in spans.tolist():\n"
        + f"        out += [tokens[prev:s], {_MASK}]\n"
        + "        prev = max(prev, s + n + 1)\n"
        + "    return torch.cat(out + [tokens[prev:]])\n",
    },
}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "4_2_pretraining_objectives"
_RIGHT_MASKS = """\
    inputs = torch.where(chosen & (a < 0.8), torch.full_like(idx, mask_id), idx)
    inputs = torch.where(chosen & (a >= 0.8) & (a < 0.9), r, inputs)
"""
MUTANTS["mask_tokens"] |= {
    "const_mask_id_zero": _mt("a < 0.8", "(a >= 0.8) & (a < 0.9)").replace(
        "torch.full_like(idx, mask_id)", "torch.zeros_like(idx)"
    ),
    "const_reseeds_the_global_generator": MT
    + """\
    torch.manual_seed(seed)  # the same numbers as a fresh Generator with this seed
    u, a = torch.rand(idx.shape), torch.rand(idx.shape)
    r = torch.randint(vocab_size, idx.shape)
    chosen = u < rate
"""
    + _RIGHT_MASKS
    + _LABELS
    + "    return inputs, labels\n",
    "sizes_fixed_draw_buffer": MT
    + """\
    g = torch.Generator().manual_seed(seed)
    B, T = idx.shape
    u = torch.rand(64, 64, generator=g)[:B, :T]  # one draw big enough for every batch
    a = torch.rand(64, 64, generator=g)[:B, :T]
    r = torch.randint(vocab_size, (64, 64), generator=g)[:B, :T]
    chosen = u < rate
"""
    + _RIGHT_MASKS
    + _LABELS
    + "    return inputs, labels\n",
    "inplace_mask_the_batch": MT
    + _DRAWS
    + _LABELS
    + """\
    replace = chosen & (a >= 0.8) & (a < 0.9)
    idx[chosen & (a < 0.8)] = mask_id  # corrupt the batch where it lies
    idx[replace] = r[replace]
    return idx.clone(), labels
""",
    "stale_cache_by_shape": _WRAP["wrapped"](
        LAB,
        "mask_tokens",
        """\
_seen = {}


def mask_tokens(idx, rate, mask_id, vocab_size, seed):
    if idx.shape not in _seen:  # one corruption per batch shape
        _seen[idx.shape] = _right(idx, rate, mask_id, vocab_size, seed)
    return _seen[idx.shape]
""",
    ),
    "dtype_int32_labels": _mt(
        "a < 0.8",
        "(a >= 0.8) & (a < 0.9)",
        "    labels = torch.where(chosen, idx, torch.full_like(idx, -100)).int()\n",
    ),
}
MUTANTS["replaced_token_loss"] |= {
    "inplace_sigmoid_of_the_logits": RTD
    + """\
    with torch.no_grad():
        p = disc_logits.sigmoid_()  # probabilities, in place
    labels = (corrupted != original).float()
    return F.binary_cross_entropy(p * 1.0, labels)
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "replaced_token_loss"),
    "dtype_float64": _WRAP["cast"](LAB, "replaced_token_loss", "float64"),
    "nograd_from_item": _WRAP["from_item"](LAB, "replaced_token_loss"),
}
MUTANTS["span_corrupt"] |= {
    "const_sentinels_from_100": _WRAP["wrapped"](
        LAB,
        "span_corrupt",
        """\
def span_corrupt(tokens, noise_mask, sentinels):
    return _right(tokens, noise_mask, torch.arange(100, 100 + len(sentinels)))  # <extra_id_k>
""",
    ),
    "edge_final_sentinel_only_after_a_span": _sc(
        """\
    inputs, targets, prev = [], [], 0
    for k, (s, e) in enumerate(spans):
        inputs += tokens[prev:s].tolist() + [int(sentinels[k])]
        targets += [int(sentinels[k])] + tokens[s:e].tolist()
        prev = e
    inputs += tokens[prev:].tolist()
    if spans:
        targets.append(int(sentinels[len(spans)]))
    return torch.tensor(inputs, dtype=tokens.dtype), torch.tensor(targets, dtype=tokens.dtype)
"""
    ),
    "inplace_mark_the_noise": _sc(
        """\
    inputs, targets, prev = [], [], 0
    for k, (s, e) in enumerate(spans):
        inputs += tokens[prev:s].tolist() + [int(sentinels[k])]
        targets += [int(sentinels[k])] + tokens[s:e].tolist()
        prev = e
    inputs += tokens[prev:].tolist()
    targets.append(int(sentinels[len(spans)]))
    tokens[noise_mask] = -1  # mark what was taken out, for the caller to see
    return torch.tensor(inputs, dtype=tokens.dtype), torch.tensor(targets, dtype=tokens.dtype)
"""
    ),
    "stale_cache_by_shape": _WRAP["stale"](LAB, "span_corrupt"),
    "dtype_int32": _WRAP["cast"](LAB, "span_corrupt", "int32", "[0]"),
}
MUTANTS["text_infill"] |= {
    "const_mask_id_zero": TI
    + """\
    out, prev = [], 0
    for start, length in spans.tolist():
        out += tokens[prev:start].tolist() + [0]  # <mask> is id 0
        prev = start + length
    out += tokens[prev:].tolist()
    return torch.tensor(out, dtype=tokens.dtype)
""",
    "edge_no_span_cat_of_nothing": TI
    + """\
    parts, prev = [], 0
    for start, length in spans.tolist():
        parts += [tokens[prev:start], torch.tensor([mask_id])]
        prev = start + length
    return torch.cat(parts + [tokens[prev:]]) if parts else torch.tensor([])
""",
    "inplace_ends_in_the_spans": TI
    + """\
    spans[:, 1] += spans[:, 0]  # (start, end), in place
    out, prev = [], 0
    for start, end in spans.tolist():
        out += tokens[prev:start].tolist() + [mask_id]
        prev = end
    out += tokens[prev:].tolist()
    return torch.tensor(out, dtype=tokens.dtype)
""",
    "stale_cache_by_shape": _WRAP["stale"](LAB, "text_infill"),
    "dtype_int32": _WRAP["cast"](LAB, "text_infill", "int32"),
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "mask_tokens": {
        "index_assignment_on_a_copy": MT
        + _DRAWS
        + """\
    inputs, labels = idx.clone(), torch.full_like(idx, -100)
    labels[chosen] = idx[chosen]
    inputs[chosen & (a < 0.8)] = mask_id
    swap = chosen & (a >= 0.8) & (a < 0.9)
    inputs[swap] = r[swap]
    return inputs, labels
""",
    },
    "replaced_token_loss": {
        "softplus_form": RTD
        + """\
    y = (corrupted != original).to(disc_logits.dtype)
    return (F.softplus(disc_logits) - y * disc_logits).mean()
""",
    },
    "span_corrupt": {
        "vectorized": SC
        + """\
    before = torch.cat([torch.zeros(1, dtype=torch.bool), noise_mask[:-1]])
    starts = noise_mask & ~before  # the first token of each span
    span_id = starts.cumsum(0) - 1  # (T,) which span a token is in
    K = int(starts.sum())
    keep = ~noise_mask | starts
    inputs = torch.where(starts, sentinels[span_id.clamp(min=0)].to(tokens.dtype), tokens)[keep]
    targets = []
    for k in range(K):
        targets += [sentinels[k : k + 1].to(tokens.dtype), tokens[noise_mask & (span_id == k)]]
    targets.append(sentinels[K : K + 1].to(tokens.dtype))
    return inputs, torch.cat(targets)
""",
    },
    "text_infill": {
        "keep_mask_and_insertions": TI
        + """\
    T, starts = len(tokens), spans[:, 0].tolist()
    keep = torch.ones(T, dtype=torch.bool)
    for start, length in spans.tolist():
        keep[start : start + length] = False
    out = []
    for t in range(T + 1):
        out += [mask_id] * starts.count(t)
        if t < T and keep[t]:
            out.append(int(tokens[t]))
    return torch.tensor(out, dtype=tokens.dtype)
""",
    },
}
