"""What every executor sees and the check each one makes before touching anything."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from incidentlens.errors import PolicyError
from incidentlens.model.approval import Approval, proposal_digest
from incidentlens.model.records import FixProposal
from incidentlens.store.fixes_repository import ExecutionRow
from incidentlens.workflow.config import Settings


@dataclass(frozen=True, slots=True)
class ExecutionTarget:
    """A proposal the gate has redeemed an approval for, with the settings and earlier executions."""

    proposal: FixProposal
    incident_id: str
    settings: Settings
    actor: str
    approvers: tuple[str, ...] = ()
    approval_id: str = ""
    previous: tuple[ExecutionRow, ...] = ()
    repository: Path | None = None  # recorded with the incident by `investigate --repo`


class Executor(Protocol):
    """Changes a system for one approved proposal. `preflight` checks configuration before the approval
    is spent; `run` refuses anything but the Approval for this proposal and returns what it did."""

    name: str
    # True when each run must be authorised by its own approval set (a command is not idempotent).
    once_per_approval_set: bool

    def preflight(self, target: ExecutionTarget) -> None: ...

    def run(self, target: ExecutionTarget, approval: Approval) -> dict[str, Any]: ...


def require_approval(approval: object, proposal: FixProposal) -> Approval:
    """The executor's own guard: an Approval object, for this proposal, for its current content."""
    if not isinstance(approval, Approval):
        raise PolicyError(f"refused: executors need an Approval from the gate, not {type(approval).__name__}")
    if approval.proposal_id != proposal.id:
        raise PolicyError(f"refused: the approval is for {approval.proposal_id}, not {proposal.id}")
    if approval.proposal_hash != proposal_digest(proposal):
        raise PolicyError(f"refused: {proposal.id} changed after it was approved")
    return approval
