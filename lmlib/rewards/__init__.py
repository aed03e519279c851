"""Learning from a reward instead of an instruction: question answering and tic-tac-toe."""
