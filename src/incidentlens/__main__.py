"""`python -m incidentlens` runs the command-line interface."""

from incidentlens.cli.main import main

main()
