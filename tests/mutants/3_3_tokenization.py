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
