"""IncidentLens as an MCP server (`incidentlens mcp`, the `mcp` extra): agents call the evidence engine.

Only `server.py` and `http.py` import the SDK; the tool logic (`reads.py`, `changes.py`, `investigate.py`)
is plain Python over `workflow/`, `store/`, `locate/`, `memory/` and the investigation use case.
"""

MCP_HINT = "pip install 'incidentlens[mcp]'"

__all__ = ["MCP_HINT"]
