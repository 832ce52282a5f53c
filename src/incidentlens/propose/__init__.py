"""Fix and action suggestions. Suggestions only: nothing here changes a system."""
