"""Plausible wrong answers for lab 3.4; each must score zero. exercise -> {mutant: cell source}.

Each mutant is the fixture's right answer (tests/fixtures/lab_notebooks.py) with one edit.
"""

import runpy
from pathlib import Path

_RIGHT = runpy.run_path(str(Path(__file__).parents[1] / "fixtures" / "lab_notebooks.py"))[
    "EXERCISES"
]["3_4_your_gpt"]


def _edit(exercise: str, old: str, new: str) -> str:
    code = _RIGHT[exercise]
    if old not in code:
        raise ValueError(f"the {exercise} answer has no {old!r} to replace")
    return code.replace(old, new)


_ATTN_RESIDUAL = "x = x + self.attn(self.norm1(x))"
_MLP_RESIDUAL = "return x + self.mlp(self.norm2(x))"
_TIE = "self.head.weight = self.tok_emb.weight"
_WARMUP = "return lr * (step + 1) / warmup"
_PROGRESS = "(step - warmup) / max(1, steps - warmup)"
_CLIP = 'nn.utils.clip_grad_norm_(model.parameters(), run["grad_clip"])'
_PICK = "logits = model(idx[:, -model.context :])[:, -1, :].float().cpu()"

MUTANTS = {
    "Block": {
        "no_attention_residual": _edit("Block", _ATTN_RESIDUAL, "x = self.attn(self.norm1(x))"),
        "no_mlp_residual": _edit("Block", _MLP_RESIDUAL, "return self.mlp(self.norm2(x))"),
        "post_ln": _edit(
            "Block",
            f"{_ATTN_RESIDUAL}\n        {_MLP_RESIDUAL}",
            "x = self.norm1(x + self.attn(x))\n        return self.norm2(x + self.mlp(x))",
        ),
        "no_causal_mask": _edit("Block", "is_causal=True", "is_causal=False"),
        "one_norm_for_both": _edit("Block", "self.mlp(self.norm2(x))", "self.mlp(self.norm1(x))"),
        "relu_not_gelu": _edit("Block", "F.gelu(", "F.relu("),
        "heads_interleaved": _edit("Block", '"b t (three h k)', '"b t (three k h)'),
    },
    "GPT": {
        "untied_head": _edit("GPT", _TIE, "pass"),
        "no_final_norm": _edit("GPT", "self.head(self.norm(x))", "self.head(x)"),
        "no_position_embedding": _edit(
            "GPT", "self.tok_emb(idx) + self.pos_emb(positions)", "self.tok_emb(idx)"
        ),
        "one_block_repeated": _edit(
            "GPT",
            "nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))",
            "nn.ModuleList([Block(d_model, n_heads)] * n_layers)",
        ),
        "positions_from_the_end": _edit(
            "GPT",
            "torch.arange(idx.shape[1], device=idx.device)",
            "torch.arange(self.context - idx.shape[1], self.context, device=idx.device)",
        ),
        "blocks_in_reverse": _edit("GPT", "in self.blocks:", "in reversed(self.blocks):"),
    },
    "lr_at": {
        "warmup_off_by_one": _edit("lr_at", _WARMUP, "return lr * step / warmup"),
        "decay_off_by_one": _edit(
            "lr_at", _PROGRESS, _PROGRESS.replace("warmup)", "warmup + 1)", 1)
        ),
        "warmup_one_step_longer": _edit("lr_at", "if step < warmup:", "if step <= warmup:"),
        "cosine_to_zero": _edit(
            "lr_at",
            'return lr * (run["min_lr_ratio"] + (1 - run["min_lr_ratio"]) * cosine)',
            "return lr * cosine",
        ),
        "cosine_over_all_steps": _edit("lr_at", _PROGRESS, "step / max(1, steps)"),
    },
    "train_gpt": {
        "schedule_off_by_one": _edit("train_gpt", "lr_at(step, run)", "lr_at(step + 1, run)"),
        "weight_decay_on_norms": _edit(
            "train_gpt", '"weight_decay": 0.0}', '"weight_decay": weight_decay}'
        ),
        "no_gradient_clipping": _edit("train_gpt", _CLIP, "pass"),
        "gradients_accumulate": _edit("train_gpt", "opt.zero_grad(set_to_none=True)", "pass"),
        "default_betas": _edit("train_gpt", ', betas=(0.9, run["beta2"])', ""),
        "constant_learning_rate": _edit("train_gpt", 'group["lr"] = lr_at(step, run)', "pass"),
        "evaluation_on_training_windows": _edit(
            "train_gpt", 'manual_seed(run["seed"] + 1)', 'manual_seed(run["seed"])'
        ),
    },
    "sample_gpt": {
        "no_context_crop": _edit("sample_gpt", "idx[:, -model.context :]", "idx"),
        "temperature_ignored": _edit("sample_gpt", "logits = logits / temperature", "pass"),
        "top_k_ignored": _edit("sample_gpt", "if top_k is not None and", "if False and"),
        "always_greedy": _edit("sample_gpt", "if temperature == 0:", "if True:"),
        "reads_the_first_position": _edit("sample_gpt", _PICK, _PICK.replace("-1, :]", "0, :]")),
        "own_random_stream": _edit("sample_gpt", ", 1, generator=generator)", ", 1)"),
    },
}

# Wrong in one way each, by class (tests/test_grading_mutants.py KINDS).
_WRAP = runpy.run_path(str(Path(__file__).with_name("_kinds.py")))
LAB = "3_4_your_gpt"
_WARMUP_BRANCH = "if step < warmup:\n        return lr * (step + 1) / warmup"
MUTANTS["Block"] |= {
    "inplace_residual_into_the_input": _edit(
        "Block", _ATTN_RESIDUAL, "x += self.attn(self.norm1(x))  # no copy of the stream"
    ),
    "stale_cache_by_shape": _WRAP["stale_module"](LAB, "Block"),
    "nograd_under_no_grad": _WRAP["module_no_grad"](LAB, "Block"),
}
MUTANTS["GPT"] |= {
    "sizes_positions_for_a_full_context": _edit(
        "GPT",
        "torch.arange(idx.shape[1], device=idx.device)",
        "torch.arange(self.context, device=idx.device)",
    ),
}
MUTANTS["lr_at"] |= {
    "const_floor_of_the_example": _edit("lr_at", 'run["min_lr_ratio"]', "0.1"),
    "edge_warmup_zero_divides": _edit(
        "lr_at",
        _WARMUP_BRANCH,
        "warm = lr * (step + 1) / warmup\n    if step < warmup:\n        return warm",
    ),
}
MUTANTS["sample_gpt"] |= {
    "dtype_int32_tokens": _edit(
        "sample_gpt", "    return idx\n", "    return idx.to(torch.int32)  # ids fit in 32 bits\n"
    ),
}

# Right answers written another way: each must score full marks.
MUST_PASS = {
    "lr_at": {
        "cosine_folded_into_one_line": _edit(
            "lr_at",
            'return lr * (run["min_lr_ratio"] + (1 - run["min_lr_ratio"]) * cosine)',
            'floor = run["min_lr_ratio"]\n'
            "    return lr * (1 + floor + (1 - floor) * math.cos(math.pi * progress)) / 2",
        ),
    },
}
