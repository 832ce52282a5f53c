"""Readers for every input format, auto-detected from content, writing columnar rows."""
