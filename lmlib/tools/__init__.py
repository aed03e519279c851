"""The `lmlib` command's tools: cli, doctor, bench, budget. Nothing else in lmlib imports them."""
