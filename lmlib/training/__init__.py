"""Training and using a model: the loop, the loss, checkpoints, sampling, the FLOP ledger."""
