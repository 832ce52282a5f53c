"""What an incident looks like: normalised symptoms, and for a resolved incident its cause, fix and owners.

Symptoms are features that recur when the same fault strikes again with other seeds, ids and timestamps:
log templates re-masked so no id or number survives, exception signatures (type plus the top application
frames, never the message), the operations that failed or slowed, the metrics that moved and which way.
Every feature is qualified by its service, because "timeout" on payment and on cart are different facts.
Pure code: the index and the store build on these records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from incidentlens.analyze.templates import WILDCARD, Masker
from incidentlens.model import FaultKind

MAX_FRAMES = 3  # the frames nearest the throw point identify a failure; deeper ones are shared plumbing
_MASKER = Masker()
_WILDCARD_RUN = re.compile(r"<\*>(?:[\s,;:=/\-]*<\*>)+")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z][a-z_]{2,}")


class Family(StrEnum):
    """Kinds of symptom; each has a weight in the index (`FAMILY_WEIGHT`)."""

    TEMPLATE = "template"
    SIGNATURE = "signature"
    EXCEPTION = "exception"
    ERROR = "error"
    LATENCY = "latency"
    METRIC = "metric"
    SILENCE = "silence"
    LOCUS = "locus"
    CHANGE = "change"
    DIAGNOSIS = "diagnosis"


# Templates and signatures are the primary, most specific evidence; a change (every deploy has one, red
# herrings too) and the bare exception type (shared by many failures) only break ties. The diagnosis (the
# leading hypothesis's service and fault, before any memory prior) sums up all the evidence, so it counts
# more than any one symptom; it never makes a recurrence on its own (see `retrieve.MIN_SHARED`).
FAMILY_WEIGHT: dict[Family, float] = {
    Family.TEMPLATE: 1.0,
    Family.SIGNATURE: 1.0,
    Family.EXCEPTION: 0.6,
    Family.ERROR: 1.0,
    Family.LATENCY: 0.8,
    Family.METRIC: 0.8,
    Family.SILENCE: 0.8,
    Family.LOCUS: 0.8,
    Family.CHANGE: 0.3,
    Family.DIAGNOSIS: 1.5,
}
WORD_WEIGHT = 0.3  # words of a template: a partial match when the miner generalised a template differently


@dataclass(frozen=True, slots=True, order=True)
class Feature:
    """One normalised symptom of one service."""

    family: Family
    service: str
    text: str

    @property
    def term(self) -> str:
        return f"{self.family.value}|{self.service}|{self.text}"

    def describe(self) -> str:
        """How the brief names a matched feature."""
        where = f" on {self.service}" if self.service else ""
        if self.family is Family.TEMPLATE:
            return f'log template "{self.text}"{where}'
        if self.family is Family.SIGNATURE:
            return f"exception {self.text}{where}"
        if self.family is Family.EXCEPTION:
            return f"{self.text}{where}"
        if self.family is Family.DIAGNOSIS:
            return f"leading hypothesis ({self.service}, {self.text})"
        return f"{self.family.value} {self.text}{where}".replace("  ", " ")


def terms(features: Iterable[Feature]) -> dict[str, float]:
    """Weighted index terms of a set of features: each feature once, plus the words of its templates."""
    out: dict[str, float] = {}
    for f in features:
        out[f.term] = max(out.get(f.term, 0.0), FAMILY_WEIGHT[f.family])
        if f.family is Family.TEMPLATE:
            for word in set(_WORD.findall(f.text)):
                key = f"word|{f.service}|{word}"
                out[key] = max(out.get(key, 0.0), WORD_WEIGHT)
    return out


def normalise_template(text: str) -> str:
    """Template text with every parameter masked: ids, numbers and times re-masked, runs of `<*>` merged.

    The miner leaves a token literal when it saw one value only; masking again here makes the same
    statement with another id or seed give the same text.
    """
    masked = _MASKER.mask(text.replace(WILDCARD, "\x00")).replace("\x00", WILDCARD)
    masked = _WILDCARD_RUN.sub(WILDCARD, masked)
    return _SPACE.sub(" ", masked).strip().lower()


def exception_signature(exception_type: str, frames: Sequence[Mapping[str, Any]]) -> str:
    """`Type at file:function < file:function`: the type and the top application frames, no message.

    `frames` is the frames column (root cause first, each exception in printed order). Python prints the
    innermost call last, the other runtimes first, so Python frames are read backwards.
    """
    app = [f for f in frames if not f.get("library")]
    if app and str(app[0].get("file", "")).endswith(".py"):
        app.reverse()
    names: list[str] = []
    for f in app:
        name = f"{_basename(str(f.get('file', '')))}:{f.get('function', '')}"
        if name not in names:
            names.append(name)
        if len(names) == MAX_FRAMES:
            break
    head = exception_type or "exception"
    return f"{head} at {' < '.join(names)}" if names else head


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class Symptoms:
    """What an investigation observed, stored with its brief so a resolved incident can be indexed later."""

    features: tuple[Feature, ...]
    services: tuple[str, ...] = ()
    edges: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [{"family": f.family.value, "service": f.service, "text": f.text} for f in self.features],
            "services": list(self.services),
            "edges": [list(e) for e in self.edges],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Symptoms:
        """The inverse of `to_dict`; unknown families (from a newer release) are skipped, not guessed.

        Raises ValueError naming what is malformed.
        """
        known = {f.value for f in Family}
        features = []
        for f in data.get("features", []):
            if not isinstance(f, Mapping) or not {"family", "service", "text"} <= f.keys():
                raise ValueError(f"symptom {f!r} needs family, service and text")
            if f["family"] in known:
                features.append(Feature(Family(f["family"]), str(f["service"]), str(f["text"])))
        edges = []
        for e in data.get("edges", []):
            if not isinstance(e, list | tuple) or len(e) != 2:
                raise ValueError(f"edge {e!r} is not a [caller, callee] pair")
            edges.append((str(e[0]), str(e[1])))
        return cls(tuple(features), tuple(str(s) for s in data.get("services", [])), tuple(edges))


@dataclass(frozen=True, slots=True)
class RootCause:
    """The cause a resolved incident ended with; `confirmed` is False when only the top hypothesis is known."""

    service: str
    fault: FaultKind
    component: str = ""
    claim: str = ""
    confirmed: bool = False

    def matches(self, service: str, fault: FaultKind) -> bool:
        return self.service == service and self.fault is fault


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """One indexed incident: its symptoms, confirmed (or best) root cause, the fix and the owners."""

    incident_id: str
    title: str
    symptoms: Symptoms
    cause: RootCause | None
    refuted: tuple[tuple[str, FaultKind], ...] = ()
    fix: str = ""
    fix_source: str = ""
    owners: tuple[str, ...] = ()
    path: tuple[str, ...] = ()
    resolved_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        cause = self.cause
        return {
            "incident_id": self.incident_id,
            "title": self.title,
            "symptoms": self.symptoms.to_dict(),
            "cause": None
            if cause is None
            else {
                "service": cause.service,
                "fault": cause.fault.value,
                "component": cause.component,
                "claim": cause.claim,
                "confirmed": cause.confirmed,
            },
            "refuted": [[s, f.value] for s, f in self.refuted],
            "fix": self.fix,
            "fix_source": self.fix_source,
            "owners": list(self.owners),
            "path": list(self.path),
            "resolved_at": self.resolved_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fingerprint:
        c = data.get("cause")
        cause = (
            None
            if not c
            else RootCause(
                service=str(c["service"]),
                fault=FaultKind(c["fault"]),
                component=str(c.get("component", "")),
                claim=str(c.get("claim", "")),
                confirmed=bool(c.get("confirmed", False)),
            )
        )
        return cls(
            incident_id=str(data["incident_id"]),
            title=str(data.get("title", "")),
            symptoms=Symptoms.from_dict(data.get("symptoms", {})),
            cause=cause,
            refuted=tuple((str(s), FaultKind(f)) for s, f in data.get("refuted", [])),
            fix=str(data.get("fix", "")),
            fix_source=str(data.get("fix_source", "")),
            owners=tuple(str(o) for o in data.get("owners", [])),
            path=tuple(str(p) for p in data.get("path", [])),
            resolved_at=str(data.get("resolved_at", "")),
        )


def dependency_path(edges: Iterable[tuple[str, str]], target: str) -> tuple[str, ...]:
    """The shortest call path from an entry service (one nobody calls) to `target`, or `(target,)`."""
    callees: dict[str, list[str]] = {}
    called: set[str] = set()
    for a, b in edges:
        callees.setdefault(a, []).append(b)
        called.add(b)
    entries = sorted(s for s in callees if s not in called)
    best: tuple[str, ...] = (target,)
    for entry in entries:
        frontier: list[tuple[str, ...]] = [(entry,)]
        seen = {entry}
        while frontier:
            path = frontier.pop(0)
            if path[-1] == target:
                if len(best) == 1 or len(path) < len(best):
                    best = path
                break
            for nxt in sorted(callees.get(path[-1], [])):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append((*path, nxt))
    return best
