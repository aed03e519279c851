"""The models the chapters build: attention and the MLP, Transformer, RNN, CNN, n-gram LMs."""
