"""Evaluation harnesses on real datasets (RCA, log parsing, code location): read data, score, return results."""
