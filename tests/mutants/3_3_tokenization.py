"""Plausible wrong answers for the tokenization lab; each must score zero.
exercise -> {mutant: cell source}."""

_MERGE = """\
# EXERCISE: merge
def merge(ids, pair, new_id):
"""

_ENCODE = """\
# EXERCISE: encode_chunk
def merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def encode_chunk(ids, merges):
    ids = list(ids)
"""

_BPB = """\
# EXERCISE: bits_per_byte
import math


def bits_per_byte(loss, n_tokens, n_bytes):
"""

MUTANTS = {
    "merge": {
        "overlapping": _MERGE
        + """\
    out = []
    for i in range(len(ids)):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
        elif not (i > 0 and (ids[i - 1], ids[i]) == tuple(pair)):
            out.append(ids[i])
    return out
""",
        "no_skip_after_match": _MERGE
        + """\
    out = []
    for i in range(len(ids)):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
        else:
            out.append(ids[i])
    return out
""",
        "drops_the_last_id": _MERGE
        + """\
    out, i = [], 0
    while i + 1 < len(ids):
        if (ids[i], ids[i + 1]) == tuple(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
""",
        "first_occurrence_only": _MERGE
        + """\
    for i in range(len(ids) - 1):
        if (ids[i], ids[i + 1]) == tuple(pair):
            return list(ids[:i]) + [new_id] + list(ids[i + 2 :])
    return list(ids)
""",
        "right_to_left": _MERGE
        + """\
    out, i = [], len(ids) - 1
    while i >= 0:
        if i > 0 and (ids[i - 1], ids[i]) == tuple(pair):
            out.append(new_id)
            i -= 2
        else:
            out.append(ids[i])
            i -= 1
    return out[::-1]
""",
        "either_order": _MERGE
        + """\
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and {ids[i], ids[i + 1]} == set(pair):
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
""",
    },
    "encode_chunk": {
        "leftmost_merge_first": _ENCODE
        + """\
    changed = True
    while changed:
        changed = False
        for i in range(len(ids) - 1):
            if (ids[i], ids[i + 1]) in merges:
                ids = ids[:i] + [merges[ids[i], ids[i + 1]]] + ids[i + 2 :]
                changed = True
                break
    return ids
""",
        "latest_merge_first": _ENCODE
        + """\
    while len(ids) >= 2:
        present = [p for p in zip(ids, ids[1:]) if p in merges]
        if not present:
            break
        pair = max(present, key=lambda p: merges[p])
        ids = merge(ids, pair, merges[pair])
    return ids
""",
        "one_merge_only": _ENCODE
        + """\
    if len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair in merges:
            ids = merge(ids, pair, merges[pair])
    return ids
""",
        "dict_order_one_pass": _ENCODE
        + """\
    for pair, new_id in merges.items():
        ids = merge(ids, pair, new_id)
    return ids
""",
        "needs_three_ids": _ENCODE
        + """\
    while len(ids) > 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids
""",
    },
    "bits_per_byte": {
        "nats_not_bits": _BPB + "    return loss * n_tokens / n_bytes\n",
        "per_token_not_per_byte": _BPB + "    return loss / math.log(2)\n",
        "ratio_upside_down": _BPB + "    return loss * n_bytes / n_tokens / math.log(2)\n",
        "times_log2": _BPB + "    return loss * n_tokens / n_bytes * math.log(2)\n",
        "bits_per_bit": _BPB + "    return loss * n_tokens / n_bytes / math.log(2) / 8\n",
        "log10": _BPB + "    return loss * n_tokens / n_bytes / math.log(10)\n",
    },
}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_MERGE_BODY = """\
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out
"""
_ENCODE_BODY = """\
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids
"""
_RIGHT_BPB = "loss * n_tokens / n_bytes / math.log(2)"
MUTANTS["merge"] |= {
    "sizes_chunk_of_64_ids_at_most": _MERGE
    + "    ids = ids[:64]  # a chunk is one word: never longer than this\n"
    + _MERGE_BODY,
    "inplace_splice_the_input": _MERGE
    + """\
    i = 0
    while i + 1 < len(ids):
        if ids[i] == pair[0] and ids[i + 1] == pair[1]:
            ids[i : i + 2] = [new_id]  # splice in place: no copy of a long list
        i += 1
    return ids
""",
    "stale_cache_by_length": _MERGE.replace("def merge(", "def _merge(")
    + _MERGE_BODY
    + """\


_seen = {}


def merge(ids, pair, new_id):
    key = (tuple(sorted(ids)), tuple(pair), new_id)
    if key not in _seen:  # one answer per bag of ids and pair: faster on the second call
        _seen[key] = _merge(ids, pair, new_id)
    return _seen[key]
""",
    "const_new_id_256": _MERGE + "    new_id = 256  # the first id after the bytes\n" + _MERGE_BODY,
}
MUTANTS["encode_chunk"] |= {
    "inplace_merge_into_the_input": _ENCODE.replace("    ids = list(ids)\n", "")
    + """\
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids[:] = merge(ids, pair, merges[pair])  # reuse the caller's list
    return ids
""",
    "stale_cache_by_length": _ENCODE
    + _ENCODE_BODY
    + """\


_right, _seen = encode_chunk, {}


def encode_chunk(ids, merges):
    key = (tuple(sorted(ids)), tuple(sorted(merges.items())))
    if key not in _seen:  # one answer per bag of ids and table: faster on the second call
        _seen[key] = _right(ids, merges)
    return _seen[key]
""",
    "edge_min_of_no_pairs": _ENCODE
    + """\
    while True:
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            return ids
        ids = merge(ids, pair, merges[pair])
""",
    "sizes_sixteen_merges_at_most": _ENCODE
    + """\
    for _ in range(16):  # a word never takes more merges than this
        if len(ids) < 2:
            break
        pair = min(zip(ids, ids[1:]), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break
        ids = merge(ids, pair, merges[pair])
    return ids
""",
}
MUTANTS["bits_per_byte"] |= {
    "dtype_tensor_not_float": _BPB.replace("import math\n", "import math\n\nimport torch\n")
    + f"    return torch.tensor({_RIGHT_BPB})\n",
    "stale_cache_by_counts": _BPB.replace("def bits_per_byte(", "def _bpb(")
    + f"    return {_RIGHT_BPB}\n"
    + """\


_seen = {}


def bits_per_byte(loss, n_tokens, n_bytes):
    if (n_tokens, n_bytes) not in _seen:  # one ratio per text
        _seen[n_tokens, n_bytes] = _bpb(loss, n_tokens, n_bytes)
    return _seen[n_tokens, n_bytes]
""",
    "const_ln2_rounded": _BPB + "    return loss * n_tokens / n_bytes / 0.693\n",
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "merge": {
        "one_pass_with_a_skip_flag": _MERGE
        + """\
    out, skip = [], False
    for a, b in zip(ids, list(ids[1:]) + [None]):
        if skip:
            skip = False
        elif (a, b) == tuple(pair):
            out.append(new_id)
            skip = True
        else:
            out.append(a)
    return out
""",
    },
    "encode_chunk": {
        "merges_sorted_by_id": _ENCODE
        + """\
    for pair, new_id in sorted(merges.items(), key=lambda item: item[1]):
        ids = merge(ids, pair, new_id)  # each pair, in the order learned, once
    return ids
""",
    },
    "bits_per_byte": {
        "log2_of_e": _BPB + "    return loss * math.log2(math.e) * n_tokens / n_bytes\n",
    },
}
