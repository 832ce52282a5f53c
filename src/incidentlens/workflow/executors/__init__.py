"""Executors: the only code that changes a system, each behind the gate.

`execute_fix` is the one path: preflight the executor's configuration, redeem the approval at the gate
(verified, single use), run the executor, and record the execution with an audit entry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from incidentlens.errors import ConfigError, IncidentLensError
from incidentlens.model.approval import FixStatus
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.config import Settings
from incidentlens.workflow.executors.base import ExecutionTarget, Executor, require_approval
from incidentlens.workflow.gate import GateContext, redeem
from incidentlens.workflow.investigations import recorded_repository

__all__ = ["EXECUTORS", "ExecutionTarget", "Executor", "execute_fix", "get_executor", "require_approval"]


def _git_branch() -> Executor:
    from incidentlens.workflow.executors.git_branch import GitBranchExecutor

    return GitBranchExecutor()


def _github_pr() -> Executor:
    from incidentlens.workflow.executors.github_pr import GitHubPullRequestExecutor

    return GitHubPullRequestExecutor()


def _command() -> Executor:
    from incidentlens.workflow.executors.command import CommandExecutor

    return CommandExecutor()


# The one registry of executors; imported lazily so a missing optional piece never breaks the others.
EXECUTORS: dict[str, Callable[[], Executor]] = {"git_branch": _git_branch, "github_pr": _github_pr, "command": _command}


def get_executor(name: str) -> Executor:
    factory = EXECUTORS.get(name)
    if factory is None:
        raise ConfigError(f"unknown executor {name!r} (known: {', '.join(sorted(EXECUTORS))})")
    return factory()


def execute_fix(
    db: Database,
    *,
    proposal_id: str,
    approval: object,
    executor: str,
    settings: Settings,
    context: GateContext,
    actor: str,
    now: datetime,
) -> fixes.ExecutionRow:
    """Run one approved proposal through one executor; a failed run is recorded and then raised."""
    impl = get_executor(executor)
    with db.session(readonly=True) as session:
        stored = fixes.get_proposal(session, proposal_id=proposal_id)
        previous = tuple(fixes.list_executions(session, proposal_id=proposal_id))
    approvers = tuple(getattr(approval, "approvers", ()))
    target = ExecutionTarget(
        stored.proposal,
        stored.incident_id,
        settings,
        actor,
        approvers,
        str(getattr(approval, "id", "")),
        previous,
        repository=recorded_repository(db, stored.incident_id),
    )
    impl.preflight(target)  # a configuration mistake must not spend the approval
    redeem(
        db,
        approval=approval,
        proposal_id=proposal_id,
        executor=executor,
        context=context,
        actor=actor,
        now=now,
        once_per_approval_set=impl.once_per_approval_set,
    )
    failure: IncidentLensError | None = None
    try:
        result: dict[str, Any] = impl.run(target, require_approval(approval, stored.proposal))
    except IncidentLensError as exc:
        failure, result = exc, {"error": str(exc)}
    ok = failure is None and "error" not in result
    row = fixes.ExecutionRow(0, proposal_id, target.approval_id, executor, actor, now, datetime.now(UTC), ok, result)
    with db.session() as session:
        fixes.insert_execution(session, row=row)
        if ok:
            fixes.update_proposal(session, proposal_id=proposal_id, now=now, status=FixStatus.EXECUTED)
        append_audit(
            session,
            actor=actor,
            entity="fix_proposal",
            entity_id=proposal_id,
            action="executed" if ok else "execution_failed",
            at=now,
            incident_id=stored.incident_id,
            data={"executor": executor, "approval": target.approval_id, "result": result},
        )
    if failure is not None:
        raise failure
    return row
