"""The Approval type: proof that the gate found the policy satisfied for one proposal, usable once.

Only `workflow/gate.py` can build an `Approval`: the constructor checks a sentinel the gate binds once at
import, and every approval carries an HMAC over (id, proposal id, proposal content hash, approvers,
expiry) keyed by a secret in the workflow database, so a forged or edited approval fails verification.
Proposal text never reaches the gate's decision: only decisions, roles and the policy do.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum

from incidentlens.errors import PolicyError
from incidentlens.model.enums import Role
from incidentlens.model.records import FixProposal


class FixStatus(StrEnum):
    """Where a proposal is in its life; only forward moves are recorded, each with an audit entry."""

    PROPOSED = "proposed"
    VALIDATED = "validated"
    VALIDATION_FAILED = "validation_failed"
    REJECTED = "rejected"
    EXECUTED = "executed"
    CONFIRMED = "confirmed"
    REFUTED = "refuted"


class DecisionKind(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Decision:
    """One person's approve or reject of one version (content hash) of a proposal."""

    proposal_id: str
    actor: str
    roles: frozenset[Role]
    kind: DecisionKind
    at: datetime
    proposal_hash: str
    comment: str = ""


def proposal_digest(proposal: FixProposal) -> str:
    """SHA-256 over everything a reviewer approves: any edit to the proposal changes it."""
    content = asdict(proposal)
    content.pop("id")  # the id names the proposal; it is signed separately
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()


def approval_signature(
    key: bytes,
    *,
    approval_id: str,
    proposal_id: str,
    proposal_hash: str,
    approvers: tuple[str, ...],
    expires_at: datetime,
) -> str:
    """HMAC-SHA256 over the fields an executor relies on, in a fixed canonical order."""
    message = json.dumps(
        [approval_id, proposal_id, proposal_hash, sorted(approvers), expires_at.isoformat()], separators=(",", ":")
    )
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


_issuer: list[object] = []


def bind_issuer() -> object:
    """Hand the one issuer token to the gate; a second caller is refused, so no other module gets it."""
    if _issuer:
        raise PolicyError("the approval issuer is already bound to the gate (workflow/gate.py)")
    token = object()
    _issuer.append(token)
    return token


@dataclass(frozen=True, slots=True)
class Approval:
    """A signed, expiring, single-use permission to execute one version of one proposal."""

    id: str
    proposal_id: str
    proposal_hash: str
    approvers: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime
    signature: str
    issuer: object = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if not _issuer or self.issuer is not _issuer[0]:
            raise PolicyError("an Approval can only be issued by the approval gate (workflow/gate.py)")

    def verify(self, key: bytes) -> bool:
        """Whether the signature matches the fields: False for any edited field or a wrong key."""
        expected = approval_signature(
            key,
            approval_id=self.id,
            proposal_id=self.proposal_id,
            proposal_hash=self.proposal_hash,
            approvers=self.approvers,
            expires_at=self.expires_at,
        )
        return hmac.compare_digest(expected, self.signature)
