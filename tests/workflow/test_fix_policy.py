"""policy.yaml parsing and evaluation: roles per kind, distinct approvers, production, expiry, authors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidentlens.errors import ConfigError
from incidentlens.model.approval import Decision, DecisionKind, proposal_digest
from incidentlens.model.enums import FixKind, RiskLevel, Role
from incidentlens.model.records import FixProposal
from incidentlens.workflow.policy import Policy, evaluate, parse_duration, parse_policy

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
PROPOSAL = FixProposal("P1", "h1", FixKind.REVERT, "revert", "why", RiskLevel.LOW, ("e1",), diff="d", service="cart")
HASH = proposal_digest(PROPOSAL)
A = frozenset({Role.APPROVER})


def d(
    actor: str, *, roles: frozenset[Role] = A, kind: DecisionKind = DecisionKind.APPROVE, at: datetime = T0
) -> Decision:
    return Decision("P1", actor, roles, kind, at, HASH)


def test_default_policy_one_approver_two_for_production() -> None:
    policy = Policy()
    one = evaluate(policy, proposal=PROPOSAL, proposal_hash=HASH, decisions=[d("alice")], production=False, now=T0)
    assert one.ok and one.approvers == ("alice",) and one.expires_at == T0 + timedelta(hours=4)
    prod = evaluate(policy, proposal=PROPOSAL, proposal_hash=HASH, decisions=[d("alice")], production=True, now=T0)
    assert not prod.ok and prod.needed == 2


def test_yaml_policy_kinds_production_list_and_ttl() -> None:
    policy = parse_policy(
        "approval_ttl: 30m\nproduction_services: [cart]\nproduction: {approvers: 3}\n"
        "kinds:\n  revert: {roles: [approver, admin], approvers: 1}\n  operation: {roles: [admin]}\n"
    )
    assert policy.approval_ttl == timedelta(minutes=30)
    assert policy.required(PROPOSAL, production=False).approvers == 3  # cart is listed as production
    assert policy.rule(FixKind.OPERATION).roles == frozenset({Role.ADMIN})
    three = [d("alice"), d("bob"), d("dave", roles=frozenset({Role.ADMIN}))]
    verdict = evaluate(policy, proposal=PROPOSAL, proposal_hash=HASH, decisions=three, production=False, now=T0)
    assert verdict.ok and verdict.approvers == ("alice", "bob", "dave")


def test_decisions_that_do_not_count() -> None:
    policy = parse_policy("default: {approvers: 2}\napproval_ttl: 1h\n")
    authored = FixProposal(**{**{f: getattr(PROPOSAL, f) for f in PROPOSAL.__dataclass_fields__}, "author": "alice"})
    cases = [
        ([d("alice"), d("alice", at=T0 + timedelta(minutes=5))], PROPOSAL, "needs 2 distinct"),
        ([d("alice"), Decision("P1", "bob", A, DecisionKind.APPROVE, T0, "other")], PROPOSAL, "different version"),
        ([d("alice"), d("bob", at=T0 - timedelta(hours=2))], PROPOSAL, "expired"),
        ([d("alice"), d("bob", roles=frozenset({Role.VIEWER}))], PROPOSAL, "holds none of the roles"),
        (
            [Decision("P1", u, A, DecisionKind.APPROVE, T0, proposal_digest(authored)) for u in ("alice", "bob")],
            authored,
            "authored the proposal",
        ),
    ]
    for decisions, proposal, reason in cases:
        verdict = evaluate(
            policy,
            proposal=proposal,
            proposal_hash=proposal_digest(proposal) if proposal is authored else HASH,
            decisions=decisions,
            production=False,
            now=T0,
        )
        assert not verdict.ok and any(reason in r for r in verdict.reasons), (reason, verdict.reasons)


def test_a_rejection_blocks_and_a_later_approval_replaces_it() -> None:
    policy = Policy()
    rejected = [d("alice"), d("bob", kind=DecisionKind.REJECT)]
    assert not evaluate(policy, proposal=PROPOSAL, proposal_hash=HASH, decisions=rejected, production=False, now=T0).ok
    changed = [*rejected, d("bob", at=T0 + timedelta(minutes=1))]
    assert evaluate(policy, proposal=PROPOSAL, proposal_hash=HASH, decisions=changed, production=False, now=T0).ok


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kinds: {deploy: {approvers: 1}}", "unknown fix kind 'deploy'"),
        ("default: {roles: [wizard]}", "unknown role"),
        ("default: {approvers: 0}", "at least 1"),
        ("approval_ttl: forever", "not a positive duration"),
        ("quorum: 2", "unknown key"),
        ("- a list", "must be a mapping"),
    ],
)
def test_bad_policies_name_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_policy(text, source="policy.yaml")


def test_durations() -> None:
    assert parse_duration("2d", "x") == timedelta(days=2)
    assert parse_duration(90, "x") == timedelta(seconds=90)
