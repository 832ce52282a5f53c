"""A workspace for the MCP tests: the demo incident recorded twice (an earlier one resolved and in the memory,
the current one open, both with the demo repository), settings files, and the server's command line."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from incidentlens.investigation import InvestigationRequest, run
from incidentlens.investigation.record import record_result
from incidentlens.simulate import DEFAULT_FAULT, simulate
from incidentlens.store.database import open_database
from incidentlens.web.settings import hash_token
from incidentlens.workflow import incidents as lifecycle
from incidentlens.workflow.lifecycle import Action

SRC = Path(__file__).resolve().parents[2] / "src"
TOKENS = {"agent": "agent-token", "watcher": "watcher-token", "boss": "boss-token"}


@dataclass(frozen=True)
class Workspace:
    root: Path
    bundle: Path
    ws: Path

    def copy(self, to: Path) -> Workspace:
        """A private copy (database included) for a test that changes things."""
        shutil.copytree(self.ws, to / "ws")
        return Workspace(to, self.bundle, to / "ws")

    def write_config(self, *, allow_changes: bool, tokens: bool = False, identity: str | None = None) -> Path:
        def user(name: str, roles: str) -> str:
            token = f", token_sha256: {hash_token(TOKENS[name])}" if tokens else ""
            return f"  {name}: {{roles: [{roles}]{token}}}\n"

        mcp = f"mcp: {{allow_changes: {'true' if allow_changes else 'false'}"
        mcp += f", identity: {identity}}}\n" if identity else "}\n"
        text = (
            "users:\n"
            + user("agent", "responder")
            + user("watcher", "viewer")
            + user("boss", "admin, approver, responder")
            + "default_user: agent\n"
            + f"sources:\n  demo: {{kind: files, paths: [{self.bundle}]}}\n"
            + f"repositories:\n  shop: {{path: {self.bundle / 'repo'}}}\n"
            + mcp
        )
        path = self.ws / "config.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    def argv(self, *more: str) -> list[str]:
        return [sys.executable, "-m", "incidentlens", "--workspace", str(self.ws), "mcp", *more]


def env() -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("INCIDENTLENS_CONFIG", "INCIDENTLENS_DATABASE_URL")}
    return {**clean, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def build_workspace(root: Path) -> Workspace:
    """INC-0001: the demo incident, resolved (so indexed in the memory); INC-0002: the same symptoms, open."""
    bundle = root / "bundle"
    simulate(DEFAULT_FAULT, seed=7, out=bundle)
    result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    ws = root / "ws"
    ws.mkdir()
    db = open_database(workspace=ws)
    try:
        inputs = {**result.brief.inputs, "repository": str((bundle / "repo").resolve())}
        earlier = dataclasses.replace(result, brief=dataclasses.replace(result.brief, alert_fingerprint="earlier"))
        first = record_result(db, earlier, workspace=str(ws), inputs=inputs).incident_id
        lifecycle.apply_action(db, incident_id=first, action=Action.RESOLVE, actor="tester")
        record_result(db, result, workspace=str(ws), inputs=inputs)
    finally:
        db.dispose()
    return Workspace(root, bundle, ws)
