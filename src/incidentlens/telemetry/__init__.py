"""The telemetry store (DuckDB by default) and the questions analyses ask of it."""
