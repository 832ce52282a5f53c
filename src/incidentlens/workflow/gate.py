"""The approval gate: the only place an `Approval` is created, and the only place one is redeemed.

`decide` records one person's approve/reject; `issue_approval` checks the policy over the recorded
decisions and signs an approval; `redeem` verifies an approval (signature, issued here, unused, unexpired,
for this proposal and its unchanged content, policy still satisfied) and marks it used, once. For an
executor that runs once per approval set (`command`), only decisions recorded after its last run count,
so repeating a run needs new approvals rather than a freshly issued approval over the old decisions.
Refusals are audited in their own transaction and raised as PolicyError.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy.orm import Session

from incidentlens.errors import PermissionDeniedError, PolicyError
from incidentlens.model.approval import (
    Approval,
    Decision,
    DecisionKind,
    FixStatus,
    approval_signature,
    bind_issuer,
    proposal_digest,
)
from incidentlens.store import fixes_repository as fixes
from incidentlens.store.database import Database
from incidentlens.workflow.audit import append_audit
from incidentlens.workflow.identity import Identity
from incidentlens.workflow.policy import Policy, evaluate

_ISSUER = bind_issuer()
ENTITY = "fix_proposal"


@dataclass(frozen=True, slots=True)
class GateContext:
    """The policy in force and whether the proposal's service counts as production."""

    policy: Policy
    production: bool


def decide(
    db: Database,
    *,
    proposal_id: str,
    identity: Identity,
    kind: DecisionKind,
    context: GateContext,
    now: datetime,
    comment: str = "",
) -> Decision:
    """Record `identity`'s approve or reject; the author and users without an allowed role are refused."""
    with db.session() as session:
        stored = fixes.get_proposal(session, proposal_id=proposal_id, lock=True)
        _check_intact(stored)
        if stored.status in (FixStatus.REJECTED, FixStatus.CONFIRMED, FixStatus.REFUTED):
            raise PolicyError(f"{proposal_id} is {stored.status}: decisions are closed")
        rule = context.policy.required(stored.proposal, production=context.production)
        if not identity.roles & rule.roles:
            raise PermissionDeniedError(
                f"{identity.name} cannot {kind} {proposal_id}: the policy ({context.policy.source}) allows "
                f"role {' or '.join(sorted(rule.roles))} for {stored.proposal.kind}"
            )
        if kind is DecisionKind.APPROVE and identity.name == stored.proposal.author:
            raise PolicyError(f"{identity.name} authored {proposal_id} and cannot approve it")
        decision = Decision(
            proposal_id=proposal_id,
            actor=identity.name,
            roles=identity.roles,
            kind=kind,
            at=now,
            proposal_hash=stored.content_hash,
            comment=comment,
        )
        fixes.add_decision(session, decision=decision)
        if kind is DecisionKind.REJECT:
            fixes.update_proposal(session, proposal_id=proposal_id, now=now, status=FixStatus.REJECTED)
        append_audit(
            session,
            actor=identity.name,
            entity=ENTITY,
            entity_id=proposal_id,
            action=f"{kind}d" if kind is DecisionKind.APPROVE else "rejected",
            at=now,
            incident_id=stored.incident_id,
            data={"roles": sorted(identity.roles), "comment": comment, "proposal_hash": stored.content_hash},
        )
        return decision


def issue_approval(db: Database, *, proposal_id: str, context: GateContext, actor: str, now: datetime) -> Approval:
    """Sign an approval when the policy holds over the recorded decisions; otherwise PolicyError with why."""
    with db.session() as session:
        stored = fixes.get_proposal(session, proposal_id=proposal_id, lock=True)
        reason = _not_ready(stored)
        verdict = None
        if reason is None:
            decisions = fixes.list_decisions(session, proposal_id=proposal_id)
            verdict = evaluate(
                context.policy,
                proposal=stored.proposal,
                proposal_hash=stored.content_hash,
                decisions=decisions,
                production=context.production,
                now=now,
            )
            if not verdict.ok:
                reason = "; ".join(verdict.reasons)
        if reason is None and verdict is not None and verdict.expires_at is not None:
            key = fixes.signing_key(session)
            approval_id = secrets.token_hex(16)
            approvers = tuple(sorted(verdict.approvers))
            signature = approval_signature(
                key,
                approval_id=approval_id,
                proposal_id=proposal_id,
                proposal_hash=stored.content_hash,
                approvers=approvers,
                expires_at=verdict.expires_at,
            )
            row = fixes.ApprovalRow(
                approval_id, proposal_id, stored.content_hash, approvers, now, verdict.expires_at, signature, None, None
            )
            fixes.insert_approval(session, row=row)
            append_audit(
                session,
                actor=actor,
                entity=ENTITY,
                entity_id=proposal_id,
                action="approval_issued",
                at=now,
                incident_id=stored.incident_id,
                data={"approval": approval_id, "approvers": list(approvers), "expires_at": verdict.expires_at},
            )
            return Approval(
                id=approval_id,
                proposal_id=proposal_id,
                proposal_hash=stored.content_hash,
                approvers=approvers,
                issued_at=now,
                expires_at=verdict.expires_at,
                signature=signature,
                issuer=_ISSUER,
            )
    _refuse(
        db,
        proposal_id=proposal_id,
        incident_id=stored.incident_id,
        actor=actor,
        now=now,
        action="approval_refused",
        reason=reason or "",
    )


def redeem(
    db: Database,
    *,
    approval: object,
    proposal_id: str,
    executor: str,
    context: GateContext,
    actor: str,
    now: datetime,
    once_per_approval_set: bool = False,
) -> fixes.StoredProposal:
    """Verify `approval` for `proposal_id` and mark it used; any doubt refuses and records why.

    `once_per_approval_set`: decisions recorded before this executor's last run of the proposal are spent.
    """
    with db.session() as session:
        stored = fixes.get_proposal(session, proposal_id=proposal_id, lock=True)
        spent_before = (
            fixes.last_redemption(session, proposal_id=proposal_id, executor=executor)
            if once_per_approval_set
            else None
        )
        reason = _redeem_reason(session, approval, stored, context=context, now=now, spent_before=spent_before)
        if reason is not None and spent_before is not None:
            reason = (
                f"its approvals were spent by the {executor} run at {spent_before.isoformat()}; "
                f"one approval set authorises one run, so a new run needs new approvals ({reason})"
            )
        if reason is None and isinstance(approval, Approval):
            if not fixes.mark_approval_used(session, approval_id=approval.id, executor=executor, now=now):
                reason = "the approval was already used (replay refused)"
            else:
                append_audit(
                    session,
                    actor=actor,
                    entity=ENTITY,
                    entity_id=proposal_id,
                    action="approval_redeemed",
                    at=now,
                    incident_id=stored.incident_id,
                    data={"approval": approval.id, "executor": executor, "approvers": list(approval.approvers)},
                )
                return stored
    _refuse(
        db,
        proposal_id=proposal_id,
        incident_id=stored.incident_id,
        actor=actor,
        now=now,
        action="execution_refused",
        reason=reason or "",
    )


def _redeem_reason(
    session: Session,
    approval: object,
    stored: fixes.StoredProposal,
    *,
    context: GateContext,
    now: datetime,
    spent_before: datetime | None = None,
) -> str | None:
    if not isinstance(approval, Approval):
        return f"executors need an Approval from the gate, not {type(approval).__name__}"
    if not approval.verify(fixes.signing_key(session)):
        return "the approval's signature does not match its content: forged or tampered"
    if approval.proposal_id != stored.proposal.id:
        return f"the approval is for {approval.proposal_id}, not {stored.proposal.id}"
    issued = fixes.get_approval(session, approval_id=approval.id)
    if issued is None or issued.signature != approval.signature or issued.proposal_id != approval.proposal_id:
        return "the approval was not issued by this gate"
    if issued.used_at is not None:
        return f"the approval was already used at {issued.used_at.isoformat()} (replay refused)"
    if now >= approval.expires_at:
        return f"the approval expired at {approval.expires_at.isoformat()}"
    not_ready = _not_ready(stored)
    if not_ready is not None:
        return not_ready
    if approval.proposal_hash != stored.content_hash:
        return f"{stored.proposal.id} changed after it was approved"
    decisions = fixes.list_decisions(session, proposal_id=stored.proposal.id)
    if spent_before is not None:
        decisions = [d for d in decisions if d.at > spent_before]
    verdict = evaluate(
        context.policy,
        proposal=stored.proposal,
        proposal_hash=stored.content_hash,
        decisions=decisions,
        production=context.production,
        now=now,
    )
    if not verdict.ok:
        return "the policy no longer holds: " + "; ".join(verdict.reasons)
    if set(approval.approvers) - set(verdict.approvers):
        return "the approval names approvers whose decisions no longer count"
    return None


def _not_ready(stored: fixes.StoredProposal) -> str | None:
    if not stored.intact or proposal_digest(stored.proposal) != stored.content_hash:
        return f"{stored.proposal.id}: stored content no longer matches its hash (changed outside IncidentLens)"
    if stored.status not in (FixStatus.VALIDATED, FixStatus.EXECUTED):
        return f"{stored.proposal.id} is {stored.status}: only a validated proposal can be approved or executed"
    return None


def _check_intact(stored: fixes.StoredProposal) -> None:
    if not stored.intact:
        raise PolicyError(
            f"{stored.proposal.id}: stored content no longer matches its hash (changed outside IncidentLens)"
        )


def _refuse(
    db: Database, *, proposal_id: str, incident_id: str, actor: str, now: datetime, action: str, reason: str
) -> NoReturn:
    with db.session() as session:
        append_audit(
            session,
            actor=actor,
            entity=ENTITY,
            entity_id=proposal_id,
            action=action,
            at=now,
            incident_id=incident_id,
            data={"reason": reason},
        )
    raise PolicyError(f"refused {proposal_id}: {reason}")
