"""Approval policy as code (`policy.yaml`) and its evaluation over recorded decisions.

Which roles may approve each kind of fix, how many distinct approvers it needs (more for production
services: the two-person rule), that an author never approves their own proposal, and how long an
approval decision stays valid. Only decisions, roles and the policy count: proposal text never does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from incidentlens.errors import ConfigError
from incidentlens.model.approval import Decision, DecisionKind
from incidentlens.model.enums import FixKind, Role
from incidentlens.model.records import FixProposal

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_RULE_KEYS = frozenset({"roles", "approvers"})
_TOP_KEYS = frozenset({"approval_ttl", "production_services", "default", "production", "kinds"})


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    approvers: int


@dataclass(frozen=True, slots=True)
class Policy:
    """The default: every kind needs one approver with role approver; production services need two."""

    default: Rule = Rule(frozenset({Role.APPROVER}), 1)
    production_approvers: int = 2
    kinds: Mapping[FixKind, Rule] = field(default_factory=dict)
    production_services: frozenset[str] = frozenset()
    approval_ttl: timedelta = timedelta(hours=4)
    source: str = "built-in default policy"

    def rule(self, kind: FixKind) -> Rule:
        return self.kinds.get(kind, self.default)

    def required(self, proposal: FixProposal, *, production: bool) -> Rule:
        """Roles allowed and distinct approvers needed for this proposal."""
        rule = self.rule(proposal.kind)
        if production or proposal.service in self.production_services:
            return Rule(rule.roles, max(rule.approvers, self.production_approvers))
        return rule


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    approvers: tuple[str, ...]
    needed: int
    reasons: tuple[str, ...]
    expires_at: datetime | None = None


def evaluate(
    policy: Policy,
    *,
    proposal: FixProposal,
    proposal_hash: str,
    decisions: Sequence[Decision],
    production: bool,
    now: datetime,
) -> Verdict:
    """Whether the recorded decisions satisfy the policy now, and why not when they do not.

    Each person's latest decision on this version of the proposal counts once. Decisions on an older
    version, past their time to live, by the author, or by someone without an allowed role do not count;
    any counted rejection blocks.
    """
    rule = policy.required(proposal, production=production)
    latest: dict[str, Decision] = {}
    reasons: list[str] = []
    for d in decisions:
        latest[d.actor] = d
    approvers: list[Decision] = []
    for actor, d in sorted(latest.items()):
        if d.proposal_hash != proposal_hash:
            reasons.append(f"{actor}'s decision was on a different version of the proposal")
        elif now - d.at > policy.approval_ttl:
            reasons.append(f"{actor}'s decision expired ({_human(policy.approval_ttl)} after {d.at.isoformat()})")
        elif actor == proposal.author:
            reasons.append(f"{actor} authored the proposal and cannot approve it")
        elif not d.roles & rule.roles:
            reasons.append(f"{actor} holds none of the roles allowed to approve: {', '.join(sorted(rule.roles))}")
        elif d.kind is DecisionKind.REJECT:
            reasons.append(f"{actor} rejected the proposal" + (f": {d.comment}" if d.comment else ""))
            return Verdict(False, (), rule.approvers, tuple(reasons))
        else:
            approvers.append(d)
    if len(approvers) < rule.approvers:
        reasons.insert(
            0,
            f"needs {rule.approvers} distinct approver(s) with role {' or '.join(sorted(rule.roles))}, "
            f"has {len(approvers)}",
        )
        return Verdict(False, tuple(d.actor for d in approvers), rule.approvers, tuple(reasons))
    expires = min(d.at for d in approvers) + policy.approval_ttl
    return Verdict(True, tuple(d.actor for d in approvers), rule.approvers, tuple(reasons), expires)


def load_policy(path: Path | None) -> Policy:
    """The policy file, or the built-in default when none is configured."""
    if path is None:
        return Policy()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read policy file {path}: {exc.strerror or exc}") from None
    return parse_policy(text, source=str(path))


def parse_policy(text: str, *, source: str = "policy") -> Policy:
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the policy must be a mapping")
    unknown = sorted(set(map(str, raw)) - _TOP_KEYS)
    if unknown:
        raise ConfigError(f"{source}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    base = Policy()
    default = _rule(raw.get("default"), base.default, f"{source}: default")
    production = raw.get("production") or {}
    if not isinstance(production, dict) or set(map(str, production)) - {"approvers"}:
        raise ConfigError(f"{source}: 'production' must be a mapping like {{approvers: 2}}")
    kinds_raw = raw.get("kinds") or {}
    if not isinstance(kinds_raw, dict):
        raise ConfigError(f"{source}: 'kinds' must map a fix kind to {{roles, approvers}}")
    kinds: dict[FixKind, Rule] = {}
    for name, value in kinds_raw.items():
        try:
            kind = FixKind(name)
        except ValueError:
            allowed = ", ".join(k.value for k in FixKind)
            raise ConfigError(f"{source}: unknown fix kind {name!r} under 'kinds' (allowed: {allowed})") from None
        kinds[kind] = _rule(value, default, f"{source}: kinds.{name}")
    services = raw.get("production_services") or []
    if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
        raise ConfigError(f"{source}: 'production_services' must be a list of service names")
    return Policy(
        default=default,
        production_approvers=_count(production.get("approvers", base.production_approvers), f"{source}: production"),
        kinds=kinds,
        production_services=frozenset(services),
        approval_ttl=parse_duration(raw.get("approval_ttl", "4h"), f"{source}: approval_ttl"),
        source=source,
    )


def parse_duration(value: Any, where: str) -> timedelta:
    """'30m', '4h', '2d' or a number of seconds."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return timedelta(seconds=value)
    m = _DURATION.fullmatch(str(value))
    if m is None or int(m.group(1)) <= 0:
        raise ConfigError(f"{where}: {value!r} is not a positive duration like 30m, 4h or 2d")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def _rule(value: Any, fallback: Rule, where: str) -> Rule:
    if value is None:
        return fallback
    if not isinstance(value, dict) or set(map(str, value)) - _RULE_KEYS:
        raise ConfigError(f"{where}: must be a mapping with 'roles' and/or 'approvers'")
    roles = fallback.roles
    if "roles" in value:
        if not isinstance(value["roles"], list) or not value["roles"]:
            raise ConfigError(f"{where}: 'roles' must be a non-empty list of roles")
        try:
            roles = frozenset(Role(r) for r in value["roles"])
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ConfigError(f"{where}: unknown role in {value['roles']!r} (allowed: {allowed})") from None
    return Rule(roles, _count(value.get("approvers", fallback.approvers), where))


def _count(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigError(f"{where}: 'approvers' must be a whole number of at least 1, got {value!r}")
    return value


def _human(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
