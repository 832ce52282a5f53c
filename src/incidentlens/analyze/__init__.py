"""Deterministic analyses over query results: each turns telemetry answers into evidence and findings."""
