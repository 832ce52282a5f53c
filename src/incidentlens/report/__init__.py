"""The incident brief: a report model built from analysis results, rendered to text, Markdown, HTML or JSON."""
