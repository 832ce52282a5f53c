"""Evaluation harnesses on real datasets (log parsing, ...): read data, score, return typed results."""
