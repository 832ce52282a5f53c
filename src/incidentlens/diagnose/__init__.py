"""Fuse findings into ranked, evidence-backed hypotheses with a confidence, or abstain."""
