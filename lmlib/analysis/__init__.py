"""Measuring what a model learned: per-skill losses, probes, power-law fits, a fact quiz."""
