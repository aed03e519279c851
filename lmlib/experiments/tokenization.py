"""Experiment: one Transformer on tiny Shakespeare read as characters, BPE tokens or words.

Dims: S seeds.

Bits per byte at equal training FLOPs: every tokenizer's model sees windows of about the same
number of bytes (`window_bytes`), and each trains for as many steps as the character model's
budget buys at its own cost per token (a large vocabulary makes the output layer dearer). The
BPE vocabularies are prefixes of one training run: BPE's merges at 512 are the first 256 of its
merges at 2048. Words are the chunks BPE stays inside, the `max_words` most frequent; a rarer word
is spelled out in bytes, so every tokenizer encodes every text and bits per byte compare.
Arithmetic: the same model reads the course's sums (lmlib.data.multitask) through BPE with digits
merged into multi-digit tokens or kept one per token, and answers held-out sums greedily.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter
from pathlib import Path

import torch

from lmlib.data.bpe import BPETokenizer, chunks
from lmlib.data.multitask import arithmetic_sentence
from lmlib.data.shakespeare import TINY_SHAKESPEARE, fetch
from lmlib.data.tokenizer import CharTokenizer
from lmlib.experiments import labs
from lmlib.experiments.pool import map_spawned
from lmlib.experiments.results import completed, provenance
from lmlib.models.transformer import TransformerConfig, TransformerLM
from lmlib.runtime.device import pick_device, seed_everything, torch_threads
from lmlib.runtime.files import save_figure
from lmlib.training.loss import bits_per_byte
from lmlib.training.sampling import generate
from lmlib.training.train import TrainConfig, train

LAB = "3_3_tokenization"
METRICS = ("accuracy", "digit_accuracy")  # of the sums: whole answers, and digits in place


def settings(profile: str) -> dict:
    return labs.settings(LAB, profile)


class WordTokens:
    """Whole chunks (a word with its leading space, a run of punctuation) as tokens: the
    `max_words` most frequent in the training text, after the 256 bytes that spell the rest."""

    def __init__(self, text: str, max_words: int):
        counts = Counter(c for c in chunks(text) if len(c.encode("utf-8")) > 1)
        self.words = {w: 256 + i for i, (w, _) in enumerate(counts.most_common(max_words))}
        self.vocab_size = 256 + len(self.words)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for c in chunks(text):
            ids += [self.words[c]] if c in self.words else list(c.encode("utf-8"))
        return ids


def tokenizers(train_text: str, s: dict) -> dict:
    """name -> (encode: str -> list[int], vocab_size), from the training text only."""
    char = CharTokenizer.from_text(fetch(TINY_SHAKESPEARE).read_text(encoding="utf-8"))
    out = {"char": (lambda t: char.encode(t).tolist(), char.vocab_size)}
    big = BPETokenizer().train(train_text, max(s["bpe_sizes"]))
    for v in s["bpe_sizes"]:
        bpe = BPETokenizer(big.merges[: v - 256])
        out[f"bpe-{v}"] = (bpe.encode, bpe.vocab_size)
    words = WordTokens(train_text, s["max_words"])
    out["word"] = (words.encode, words.vocab_size)
    return out


def config(s: dict, vocab_size: int, context: int) -> TransformerConfig:
    return TransformerConfig(vocab_size, context=context, d_model=s["d_model"],
                             n_heads=s["n_heads"], n_layers=s["n_layers"])  # fmt: skip


def equal_flops_steps(s: dict, vocab: dict[str, int], context: dict[str, int]) -> dict[str, int]:
    """Steps per tokenizer so that steps * batch * context * flops_per_token is the budget the
    character model spends in `char_steps` steps."""
    cost = {n: TransformerLM(config(s, vocab[n], context[n])).flops_per_token() * context[n]
            for n in vocab}  # fmt: skip
    budget = s["char_steps"] * cost["char"]
    return {n: max(1, round(budget / c)) for n, c in cost.items()}


def param_split(s: dict, vocab_size: int, context: int) -> dict:
    """Parameters of the token embedding (tied to the output) and of the rest, on no memory."""
    with torch.device("meta"):
        model = TransformerLM(config(s, vocab_size, context))
    total = model.num_params()
    embedding = model.tok_emb.weight.numel()
    return {"vocab_size": vocab_size, "params": total, "embedding": embedding,
            "rest": total - embedding, "embedding_share": embedding / total}  # fmt: skip


def lm_run(s: dict, data: dict, steps: int, seed: int) -> dict:
    """Train one model from fresh weights; its validation loss per token and bits per byte."""
    seed_everything(seed)
    model = TransformerLM(config(s, data["vocab_size"], data["context"]))
    run = TrainConfig(steps=steps, batch_size=s["batch_size"], lr=3e-3,
                      warmup_steps=max(1, steps // 10), eval_every=steps,
                      eval_batches=s["eval_batches"], seed=seed, progress=False)  # fmt: skip
    h = completed(train(model, data["train"], data["val"], run))
    loss = h.val_loss[-1]
    return {"tokenizer": data["name"], "seed": seed, "steps": steps, "val_loss": loss,
            "bits_per_byte": bits_per_byte(loss, len(data["val"]), data["val_bytes"]),
            "train_s": h.train_time[-1]}  # fmt: skip


def sums(
    n: int, rng: random.Random, max_digits: int = 3, exclude: frozenset = frozenset()
) -> list[tuple[int, int]]:
    """n pairs (a, b) drawn as the multitask corpus draws them: 1 to max_digits digits, both."""
    out = []
    while len(out) < n:
        d = rng.randint(1, max_digits)
        lo = 0 if d == 1 else 10 ** (d - 1)
        pair = (rng.randrange(lo, 10**d), rng.randrange(lo, 10**d))
        if pair not in exclude:
            out.append(pair)
    return out


def sum_text(a: int, b: int) -> str:
    """The corpus's sentence with its spaces removed: 47 + 5 = 52 reads ``74+5=25.``."""
    return "".join(arithmetic_sentence(a, b).words) + "\n"


def arithmetic_data(s: dict, split_digits: bool, seed: int) -> dict:
    """The sums of one seed: held-out test pairs, a tokenizer trained on the training sums
    (digits merged, or one per token), their ids and the context that spans `window_bytes`."""
    a = s["arithmetic"]
    rng = random.Random(1000 + seed)
    test = sums(a["n_test"], rng, a["max_digits"])
    seen = sums(a["n_train"], rng, a["max_digits"], frozenset(test))  # test sums never trained
    text = "".join(sum_text(x, y) for x, y in seen)
    tok = BPETokenizer().train(text, a["vocab_size"], split_digits=split_digits)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    per_token = len(text.encode("utf-8")) / len(ids)
    return {"test": test, "tokenizer": tok, "ids": ids, "bytes_per_token": per_token,
            "context": max(8, round(a["window_bytes"] / per_token))}  # fmt: skip


def arithmetic_config(s: dict, steps: int, seed: int) -> TrainConfig:
    return TrainConfig(steps=steps, batch_size=s["batch_size"], lr=3e-3,
                       warmup_steps=max(1, steps // 10), eval_every=steps,
                       eval_batches=s["eval_batches"], seed=seed, progress=False)  # fmt: skip


def answer_sums(model: TransformerLM, tok: BPETokenizer, test: list[tuple[int, int]]) -> dict:
    """Greedy answers to held-out sums: the share of whole answers right, and of answer digits
    right in their place."""
    right = digits = 0
    for x, y in test:
        line = sum_text(x, y)
        prompt, answer = line[: line.index("=") + 1], line[line.index("=") + 1 : -2]
        idx = torch.tensor([tok.encode("\n" + prompt)], dtype=torch.long)
        out = generate(model, idx, max_new_tokens=len(answer) + 1, top_k=1)  # greedy
        got = tok.decode(out[0, idx.shape[1] :].tolist())
        right += got.startswith(answer + ".")
        digits += sum(g == a for g, a in zip(got, answer)) / len(answer)
    return {"accuracy": right / len(test), "digit_accuracy": digits / len(test)}


def arithmetic_run(s: dict, split_digits: bool, seed: int) -> dict:
    """Train on sums through one BPE; at each of `checkpoints` steps of that one run, answer the
    held-out sums (see answer_sums)."""
    a = s["arithmetic"]
    d = arithmetic_data(s, split_digits, seed)
    tok, ids, context = d["tokenizer"], d["ids"], d["context"]
    n = int(len(ids) * 0.9)
    seed_everything(seed)
    model = TransformerLM(config(s, tok.vocab_size, context))
    scores = {}

    def score(step: int, loss: float) -> None:
        if step in a["checkpoints"]:
            scores[step] = answer_sums(model, tok, d["test"])

    run = arithmetic_config(s, a["steps"], seed)
    completed(train(model, ids[:n], ids[n:], run, on_step=score))
    return {"split_digits": split_digits, "seed": seed, "vocab_size": tok.vocab_size,
            "context": context, "bytes_per_token": d["bytes_per_token"],
            "checkpoints": a["checkpoints"],
            **{k: [scores[c][k] for c in a["checkpoints"]] for k in METRICS}}  # fmt: skip


def summarize(runs: list[dict], arith: list[dict]) -> dict:
    """Per tokenizer: bits per byte by seed, median, spread; per digit rule and checkpoint: the
    sums' accuracy by seed and its median, and in how many seeds one digit per token was higher."""
    names = list(dict.fromkeys(r["tokenizer"] for r in runs))
    seeds = sorted({r["seed"] for r in runs})
    bpb = {n: {r["seed"]: r["bits_per_byte"] for r in runs if r["tokenizer"] == n} for n in names}
    per = {n: {"bits_per_byte": [bpb[n][s] for s in seeds],
               "median": statistics.median(bpb[n].values()),
               "spread": max(bpb[n].values()) - min(bpb[n].values())} for n in names}  # fmt: skip
    best = min(names, key=lambda n: per[n]["median"])
    lowest = {str(s): min(names, key=lambda n: bpb[n][s]) for s in seeds}
    arith = sorted(arith, key=lambda r: r["seed"])
    rules = {"merged": False, "split": True}
    sums_summary, split_higher = {}, {}
    for i, step in enumerate(arith[0]["checkpoints"] if arith else []):
        at = {rule: {k: [r[k][i] for r in arith if r["split_digits"] == split] for k in METRICS}
              for rule, split in rules.items()}  # fmt: skip
        for v in at.values():
            v["median"] = statistics.median(v["accuracy"])
        sums_summary[str(step)] = at
        split_higher[str(step)] = sum(
            sp > m for sp, m in zip(at["split"]["accuracy"], at["merged"]["accuracy"])
        )
    return {
        "per_tokenizer": per,
        "best_median": best,
        "lowest_per_seed": lowest,
        "best_lowest_in": sum(v == best for v in lowest.values()),
        "arithmetic": sums_summary,
        "split_higher_in": split_higher,
    }


def _one(kind: str, *args) -> dict:
    return (lm_run if kind == "lm" else arithmetic_run)(*args)


def datasets(s: dict) -> dict[str, dict]:
    """Per tokenizer: its vocabulary, bytes per token, context (tokens in `window_bytes`), and the
    train and validation ids of tiny Shakespeare (the first 90% of `text_chars` characters, and
    the rest); tokenizers learn from the training part only."""
    text = fetch(TINY_SHAKESPEARE).read_text(encoding="utf-8")[: s["text_chars"]]
    cut = int(len(text) * 0.9)
    train_text, val_text = text[:cut], text[cut:]
    data = {}
    for name, (encode, vocab) in tokenizers(train_text, s).items():
        tr, va = encode(train_text), encode(val_text)
        per_token = len(train_text.encode("utf-8")) / len(tr)
        data[name] = {"name": name, "vocab_size": vocab, "bytes_per_token": per_token,
                      "context": max(4, round(s["window_bytes"] / per_token)),
                      "train": torch.tensor(tr), "val": torch.tensor(va),
                      "val_bytes": len(val_text.encode("utf-8"))}  # fmt: skip
    return data


def run(profile: str, seed: int = 0) -> dict:
    s = settings(profile)
    seeds = [seed + k for k in s["seeds"]]
    device = pick_device(None)
    with torch_threads(1 if device.type == "cpu" else None):
        data = datasets(s)
        steps = equal_flops_steps(s, {n: d["vocab_size"] for n, d in data.items()},
                                  {n: d["context"] for n, d in data.items()})  # fmt: skip
        # the longest runs first; one thread each, so a worker prints the lab's numbers
        work = [("arithmetic", s, split, sd) for split in (False, True) for sd in seeds]
        work += [("lm", s, d, steps[n], sd) for n, d in data.items() for sd in seeds]
        done = map_spawned(_one, work, jobs=s["jobs"])
        arith, runs = done[: 2 * len(seeds)], done[2 * len(seeds) :]
        tokenizer_info = {n: {k: d[k] for k in ("vocab_size", "bytes_per_token", "context")}
                          | {"steps": steps[n]} | param_split(s, d["vocab_size"], d["context"])
                          for n, d in data.items()}  # fmt: skip
        return {
            "experiment": "tokenization",
            "profile": profile,
            "seed": seed,
            "seeds": seeds,
            "settings": s,
            "tokenizers": tokenizer_info,
            "runs": runs,
            "arithmetic": arith,
            "summary": summarize(runs, arith),
            **provenance(device),
        }


def bpb_figure(r: dict, title: str):
    """Bits per byte per tokenizer (every seed and the median), and the parameter split."""
    import matplotlib.pyplot as plt

    info = r["tokenizers"]
    names = sorted(info, key=lambda n: info[n]["vocab_size"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for i, n in enumerate(names):
        vals = [x["bits_per_byte"] for x in r["runs"] if x["tokenizer"] == n]
        axes[0].plot([i] * len(vals), vals, "o", alpha=0.6, color="tab:blue")
        axes[0].plot(i, statistics.median(vals), "k_", ms=22, mew=2)
    labels = [f"{n}\n(V={info[n]['vocab_size']})" for n in names]
    axes[0].set_xticks(range(len(names)), labels)
    axes[0].set(ylabel="validation bits per byte", title="equal training FLOPs, every seed")
    emb = [info[n]["embedding"] / 1e3 for n in names]
    rest = [info[n]["rest"] / 1e3 for n in names]
    axes[1].bar(range(len(names)), rest, label="layers and positions")
    axes[1].bar(range(len(names)), emb, bottom=rest, label="token embedding (tied output)")
    axes[1].set_xticks(range(len(names)), labels)
    axes[1].set(ylabel="parameters (thousands)", title="where the parameters sit")
    axes[1].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def figures(r: dict, outdir: Path) -> list[Path]:
    import matplotlib.pyplot as plt

    outdir.mkdir(parents=True, exist_ok=True)
    fig = bpb_figure(r, f"Tiny Shakespeare, {len(r['seeds'])} seeds, {r['profile']} profile")
    path = outdir / "tokenization_bpb.png"
    save_figure(fig, path)
    plt.close(fig)
    return [path]
