"""The command-line edge: thin commands over pipeline, stores and workflow."""
