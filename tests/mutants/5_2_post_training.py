"""Plausible wrong answers for lab 5.2; each must score zero. exercise -> {mutant: cell source}."""

import runpy
from pathlib import Path

_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "5_2_post_training"
_H = "# EXERCISE: {}\nimport torch\n\n"
AL = _H.format("answer_logprobs") + "def answer_logprobs(logits, answer_ids):\n"
AM = _H.format("answer_mask") + "def answer_mask(answer_ids):\n"
SR = _H.format("sum_reward") + "def sum_reward(prompt, answer):\n"
PG = _H.format("pg_loss") + "def pg_loss(logp, reward, samples):\n"
_GATHER = "gather(-1, answer_ids[..., None])[..., 0]"
_IS_END = "    is_end = (answer_ids == 0).long()\n"
_TOTAL = """\
    a, b = prompt.replace("=", "").split("+")
    total = int("".join(a.split())[::-1]) + int("".join(b.split())[::-1])
    words = answer.split()
"""
_SAID = '    said = words[: words.index(".")] if "." in words else None\n'
_GROUPS = "    r = reward.reshape(-1, samples)\n"
_LOO = "    baseline = (r.sum(1, keepdim=True) - r) / (samples - 1)\n"

MUTANTS = {
    "answer_logprobs": {
        "softmax_not_log": AL + f"    return logits.softmax(dim=-1).{_GATHER}\n",
        "raw_logits": AL + f"    return logits.{_GATHER}\n",
        "normalised_over_words": AL + f"    return logits.log_softmax(dim=1).{_GATHER}\n",
        "shifted_by_one_word": AL
        + f"    return logits.log_softmax(dim=-1).roll(1, dims=1).{_GATHER}\n",
        "summed_over_words": AL + f"    return logits.log_softmax(dim=-1).{_GATHER}.sum(-1)\n",
        "sizes_squeeze_one_answer": AL
        + "    return logits.log_softmax(dim=-1).gather(-1, answer_ids[..., None]).squeeze()\n",
        "inplace_normalises_the_logits": AL
        + "    logits -= logits.logsumexp(dim=-1, keepdim=True)  # log-softmax, without a copy\n"
        + f"    return logits.{_GATHER}\n",
        "stale_cache_by_shape": _WRAP["stale"](LAB, "answer_logprobs"),
        "dtype_float64": _WRAP["cast"](LAB, "answer_logprobs", "float64"),
        "nograd_under_no_grad": _WRAP["no_grad"](LAB, "answer_logprobs"),
    },
    "answer_mask": {
        "end_word_left_out": AM + "    return (answer_ids == 0).long().cumsum(-1) == 0\n",
        "every_non_end_word": AM + "    return answer_ids != 0\n",
        "up_to_the_last_end": AM
        + _IS_END
        + "    return (is_end.flip(-1).cumsum(-1).flip(-1) - is_end) > 0\n",
        "edge_argmax_of_no_end_is_zero": AM
        + "    first = (answer_ids == 0).long().argmax(dim=-1)  # where the answer ends\n"
        + "    return torch.arange(answer_ids.shape[1])[None, :] <= first[:, None]\n",
        "dtype_long_not_bool": AM
        + _IS_END
        + "    return ((is_end.cumsum(-1) - is_end) == 0).long()\n",
        "sizes_squeeze_one_answer": AM
        + _IS_END
        + "    return ((is_end.cumsum(-1) - is_end) == 0).squeeze()\n",
        "inplace_clears_the_tail": AM
        + "    answer_ids.clamp_(max=10)  # '+' and '=' cannot be answer words\n"
        + _IS_END
        + "    return (is_end.cumsum(-1) - is_end) == 0\n",
        "stale_cache_by_shape": _WRAP["stale"](LAB, "answer_mask"),
    },
    "sum_reward": {
        "most_significant_first_answer": SR
        + _TOTAL
        + _SAID
        + "    return float(said == list(str(total)))\n",
        "prompt_read_most_significant_first": SR
        + '    a, b = prompt.replace("=", "").split("+")\n'
        + '    total = int("".join(a.split())) + int("".join(b.split()))\n'
        + "    words = answer.split()\n"
        + _SAID
        + "    return float(said == list(str(total)[::-1]))\n",
        "no_end_word_needed": SR
        + _TOTAL
        + "    digits = list(str(total)[::-1])\n"
        + "    return float(words[: len(digits)] == digits)\n",
        "compares_numbers_not_words": SR
        + _TOTAL
        + _SAID
        + '    return float(said is not None and int("".join(said[::-1]) or -1) == total)\n',
        "const_end_is_the_last_word": SR
        + _TOTAL
        + "    return float(words[-1:] == ['.'] and words[:-1] == list(str(total)[::-1]))\n",
        "dtype_bool": SR + _TOTAL + _SAID + "    return said == list(str(total)[::-1])\n",
    },
    "pg_loss": {
        "no_minus_sign": PG
        + _GROUPS
        + _LOO
        + "    return ((r - baseline).flatten() * logp).mean()\n",
        "batch_mean_baseline": PG + "    return -((reward - reward.mean()) * logp).mean()\n",
        "group_mean_with_itself": PG
        + _GROUPS
        + "    return -((r - r.mean(1, keepdim=True)).flatten() * logp).mean()\n",
        "groups_strided_not_consecutive": PG
        + "    r = reward.reshape(samples, -1)\n"
        + "    baseline = (r.sum(0, keepdim=True) - r) / (samples - 1)\n"
        + "    return -((r - baseline).flatten() * logp).mean()\n",
        "no_baseline": PG + "    return -(reward * logp).mean()\n",
        "sum_not_mean": PG
        + _GROUPS
        + _LOO
        + "    return -((r - baseline).flatten() * logp).sum()\n",
        "inplace_advantages": PG
        + "    r = reward.view(-1, samples)\n"
        + "    r -= (r.sum(1, keepdim=True) - r) / (samples - 1)  # advantages, in place\n"
        + "    return -(reward * logp).mean()\n",
        "stale_cache_by_shape": _WRAP["stale"](LAB, "pg_loss"),
        "dtype_float64": _WRAP["cast"](LAB, "pg_loss", "float64"),
        "nograd_from_item": _WRAP["from_item"](LAB, "pg_loss"),
    },
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "answer_logprobs": {
        "minus_cross_entropy": AL
        + "    import torch.nn.functional as F\n\n"
        + "    nll = F.cross_entropy(logits.transpose(1, 2), answer_ids, reduction='none')\n"
        + "    return -nll\n",
    },
    "answer_mask": {
        "cummax_of_ends": AM
        + "    ended = (answer_ids == 0).int().cummax(dim=-1).values  # 1 from the end word on\n"
        + "    before = torch.cat([torch.zeros_like(ended[:, :1]), ended[:, :-1]], 1)\n"
        + "    return before == 0\n",
    },
    "sum_reward": {
        "string_compare": SR
        + "    a, b = (int(''.join(x.split())[::-1]) for x in prompt[:-1].split('+'))\n"
        + "    head = answer.split('.')[0] if '.' in answer.split() else None\n"
        + "    right = head is not None and head.split() == list(str(a + b)[::-1])\n"
        + "    return 1.0 if right else 0.0\n",
    },
    "pg_loss": {
        "explicit_loop": PG
        + "    total = 0\n"
        + "    for g in range(len(reward) // samples):\n"
        + "        r = reward[g * samples : (g + 1) * samples]\n"
        + "        for i in range(samples):\n"
        + "            b = (r.sum() - r[i]) / (samples - 1)\n"
        + "            total = total - (r[i] - b) * logp[g * samples + i]\n"
        + "    return total / len(reward)\n",
    },
}
