"""What the gate needs to judge a proposal under the configured policy, shared by the CLI and the web."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from incidentlens.errors import ConfigError
from incidentlens.model.approval import Approval
from incidentlens.model.enums import Role
from incidentlens.store.database import Database
from incidentlens.store.fixes_repository import ExecutionRow
from incidentlens.workflow.config import Settings
from incidentlens.workflow.executors import execute_fix
from incidentlens.workflow.gate import GateContext, issue_approval
from incidentlens.workflow.policy import Policy, load_policy
from incidentlens.workflow.proposals import get_fix
from incidentlens.workflow.validate import is_production

# Who may run validation or ask for an approved change to be executed; approving is the policy's business.
OPERATORS = (Role.RESPONDER, Role.APPROVER, Role.ADMIN)


def policy_of(settings: Settings) -> Policy:
    """The `policy` setting names a policy.yaml (relative to the settings file); absent: the default policy."""
    value = settings.raw.get("policy")
    if value is None:
        return load_policy(None)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{settings.path or 'settings'}: 'policy' must be the path of a policy.yaml")
    path = Path(value).expanduser()
    if not path.is_absolute() and settings.path is not None:
        path = settings.path.parent / path
    return load_policy(path)


def gate_context(db: Database, settings: Settings, proposal_id: str) -> GateContext:
    service = get_fix(db, proposal_id=proposal_id).proposal.service
    return GateContext(policy=policy_of(settings), production=is_production(settings, service))


@dataclass(frozen=True, slots=True)
class Execution:
    approval: Approval
    row: ExecutionRow


def execute_approved(db: Database, *, proposal_id: str, executor: str, settings: Settings, actor: str) -> Execution:
    """Ask the gate for an approval and, only if the policy holds, run the executor once with it."""
    now = datetime.now(UTC)
    context = gate_context(db, settings, proposal_id)
    approval = issue_approval(db, proposal_id=proposal_id, context=context, actor=actor, now=now)
    row = execute_fix(
        db,
        proposal_id=proposal_id,
        approval=approval,
        executor=executor,
        settings=settings,
        context=context,
        actor=actor,
        now=now,
    )
    return Execution(approval, row)
