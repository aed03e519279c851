"""What the models read: tokenizers, tiny Shakespeare, and the synthetic multitask corpus."""
