"""The model's input: the evidence report with ids, taken from a brief (its JSON form, stored or fresh).

Everything here came from telemetry, alerts, commits or code, so all of it is untrusted text: `prompt.py`
redacts it and places it inside the delimited data block, never among the instructions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from incidentlens.model import Evidence

__all__ = ["EvidencePack", "pack_from_brief"]

EXCERPT_CHARS = 600


@dataclass(frozen=True)
class EvidencePack:
    """Facts (title, summary, head), ranked hypotheses citing evidence ids, the evidence itself, and code."""

    title: str
    facts: tuple[str, ...]
    hypotheses: tuple[dict[str, Any], ...]
    evidence: dict[str, dict[str, Any]]
    code: tuple[dict[str, Any], ...] = ()
    timeline: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self.evidence)

    def as_data(self) -> dict[str, Any]:
        return {
            "incident": self.title,
            "facts": list(self.facts),
            "hypotheses_ranked": list(self.hypotheses),
            "evidence": [{"id": k, **v} for k, v in self.evidence.items()],
            "timeline": list(self.timeline),
            **({"code": list(self.code)} if self.code else {}),
        }


def pack_from_brief(
    brief: Mapping[str, Any],
    *,
    extra_evidence: Iterable[Evidence] = (),
    max_evidence: int = 40,
    code: Sequence[dict[str, Any]] = (),
) -> EvidencePack:
    """The evidence report of one brief: the hypotheses in rank order and the evidence they cite first, then
    other evidence of the incident (`extra_evidence`), up to `max_evidence` records."""
    head = brief.get("head") or {}
    facts = [
        f"{k}: {head[k]}" for k in ("what", "since", "hypothesis", "page", "next_step", "description") if head.get(k)
    ]
    if brief.get("summary"):
        facts.append(f"summary: {brief['summary']}")
    facts.extend(f"degradation: {d}" for d in (brief.get("impact") or {}).get("degradations", []))
    evidence: dict[str, dict[str, Any]] = {}
    hypotheses: list[dict[str, Any]] = []
    for h in brief.get("hypotheses") or []:
        cited = [e for e in h.get("evidence", []) if isinstance(e, Mapping) and e.get("id")]
        against = [e for e in h.get("evidence_against", []) if isinstance(e, Mapping) and e.get("id")]
        for e in (*cited, *against):
            if len(evidence) < max_evidence:
                evidence.setdefault(str(e["id"]), _evidence_data(e))
        hypotheses.append(
            {
                "id": h.get("id"),
                "rank": h.get("rank"),
                "service": h.get("service"),
                "fault": h.get("fault"),
                "confidence": h.get("confidence"),
                "status": h.get("status"),
                "claim": h.get("statement") or h.get("claim"),
                "component": h.get("component", ""),
                "evidence_for": [str(e["id"]) for e in cited],
                "evidence_against": [str(e["id"]) for e in against],
                "predictions": [p.get("statement") for p in h.get("predictions", []) if isinstance(p, Mapping)],
                "victim_of": h.get("victim_of", ""),
                "suspect_commits": [
                    f"{str(c.get('sha', ''))[:12]} {c.get('subject', '')} ({c.get('author', '')})"
                    for c in h.get("suspect_commits", [])[:3]
                    if isinstance(c, Mapping)
                ],
                "code_locations": [
                    f"{loc.get('path')}:{loc.get('line')} {loc.get('function', '')}\n{loc.get('snippet', '')}"
                    for loc in h.get("locations", [])[:3]
                    if isinstance(loc, Mapping)
                ],
                "owners": [o.get("name") for o in h.get("owners", [])[:3] if isinstance(o, Mapping)],
            }
        )
    for record in extra_evidence:
        if len(evidence) >= max_evidence:
            break
        evidence.setdefault(record.id, _evidence_data({"kind": record.kind.value, **_fields(record)}))
    timeline = tuple(
        f"{t.get('when') or t.get('ts_ns')} {t.get('kind')} {t.get('service')}: {t.get('text')}"
        + (f" [{t['evidence_id']}]" if t.get("evidence_id") else "")
        for t in brief.get("timeline") or []
        if isinstance(t, Mapping)
    )
    return EvidencePack(
        title=str(brief.get("title") or "incident"),
        facts=tuple(facts),
        hypotheses=tuple(hypotheses),
        evidence=evidence,
        code=tuple(code),
        timeline=timeline[:30],
    )


def _fields(e: Evidence) -> dict[str, Any]:
    return {"service": e.service, "summary": e.summary, "excerpt": e.excerpt}


def _evidence_data(e: Mapping[str, Any]) -> dict[str, Any]:
    excerpt = str(e.get("excerpt") or "")
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[:EXCERPT_CHARS] + " …"
    return {
        "kind": str(e.get("kind") or ""),
        "service": e.get("service"),
        "summary": str(e.get("summary") or ""),
        "excerpt": excerpt,
    }
