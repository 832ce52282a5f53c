"""What every tool works with: the settings, the workflow database, the kept runs, and who is calling."""

from __future__ import annotations

from dataclasses import dataclass, field

from incidentlens.mcp_server.runs import RunCache
from incidentlens.mcp_server.settings import McpSettings
from incidentlens.store.database import Database
from incidentlens.workflow.identity import Identity

__all__ = ["ToolContext"]


@dataclass
class ToolContext:
    """Shared by every call; `caller` names the user a bearer token authenticated (HTTP), if any."""

    settings: McpSettings
    db: Database
    runs: RunCache = field(default_factory=RunCache)
    caller: str | None = None  # set per call (a copy of the shared context), never on the shared one

    def acting(self) -> Identity | None:
        """The token's user over authenticated HTTP, else the configured identity (None: changes are off)."""
        if self.caller is not None:
            return self.settings.workflow.users.get(self.caller)
        return self.settings.identity
