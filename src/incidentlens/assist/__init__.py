"""Optional language-model assistance behind a privacy firewall: providers, redaction, egress, grounding.

A model here phrases, summarises and drafts from a redacted evidence report; it never decides and never acts.
Nothing is called unless the settings file has an `llm:` section (docs/assist.md).
"""
