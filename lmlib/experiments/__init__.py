"""Experiments: each module defines `run(profile, seed) -> dict` and `figures(results, outdir)`.

`lmlib run NAME` runs one and writes results/NAME/<profile>-seed<seed>.json; `lmlib run NAME
--figures` redraws the chapter figures from the results in results/ without training.
"""

EXPERIMENTS = {
    "next_token": "lmlib.experiments.next_token",
    "incentives": "lmlib.experiments.incentives",
    "abstain": "lmlib.experiments.abstain",
    "three_families": "lmlib.experiments.three_families",
    "scaling": "lmlib.experiments.scaling",
    "objectives": "lmlib.experiments.objectives",
    "distill": "lmlib.experiments.distill",
    "crossover": "lmlib.experiments.crossover",
    "price_trend": "lmlib.experiments.price_trend",
    "encdec_ladder": "lmlib.experiments.encdec_ladder",
    "chat_cache": "lmlib.experiments.chat_cache",
    "attention_heads": "lmlib.experiments.attention_heads",
    "mlp_ablation": "lmlib.experiments.mlp_ablation",
    "tokenization": "lmlib.experiments.tokenization",
    "sft_vs_rl": "lmlib.experiments.sft_vs_rl",
    "isoflop": "lmlib.experiments.isoflop",
}
