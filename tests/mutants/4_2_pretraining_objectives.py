"""Plausible wrong answers for lab 4.2; each must score zero. exercise -> {mutant: cell source}."""

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
