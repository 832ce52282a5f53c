"""Indexing resolved incidents: their fingerprint from the ledger, stored through `store/`.

`index_incident` is what the workflow calls when an incident is resolved; `reindex_all` rebuilds the
memory (`incidentlens memory index`); `load_index` reads it back as a searchable `MemoryIndex`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from incidentlens.errors import StoreError
from incidentlens.memory.fingerprint import Fingerprint, RootCause, Symptoms, dependency_path
from incidentlens.memory.index import MemoryIndex
from incidentlens.memory.observe import symptoms_of
from incidentlens.model import FaultKind, Hypothesis, HypothesisStatus
from incidentlens.store.database import Database
from incidentlens.store.memory_repository import (
    MemoryEntryDraft,
    MemorySource,
    index_incident_entry,
    memory_entries,
    reindex_entries,
)

FIX_GIVEN = "given when resolved"
FIX_NOTE = "resolution note"
FIX_SUGGESTED = "suggestion of the root-cause hypothesis (not confirmed as applied)"


def index_incident(db: Database, incident_id: str, *, fix: str = "") -> Fingerprint:
    """Index (or re-index) one resolved or closed incident; `fix` records the fix that worked, if known."""
    entry = index_incident_entry(db, incident_id=incident_id, build=lambda s: build_entry(s, fix=fix), now=_now())
    return Fingerprint.from_dict(entry.fingerprint)


def reindex_all(db: Database) -> list[str]:
    """Rebuild the memory from every resolved or closed incident; returns their ids, oldest first."""
    return reindex_entries(db, build=build_entry, now=_now())


def load_fingerprints(db: Database) -> list[Fingerprint]:
    return [Fingerprint.from_dict(row.fingerprint) for row in memory_entries(db)]


def load_index(db: Database) -> MemoryIndex:
    """The similarity index over every indexed incident."""
    return MemoryIndex(load_fingerprints(db))


def build_entry(source: MemorySource, *, fix: str = "") -> MemoryEntryDraft:
    """The fingerprint of one incident from its ledger (pure: no database access)."""
    fp = fingerprint_of(source, fix=fix)
    cause = fp.cause
    return MemoryEntryDraft(
        service=cause.service if cause else None,
        fault=cause.fault if cause else None,
        confirmed=bool(cause and cause.confirmed),
        fingerprint=fp.to_dict(),
    )


def fingerprint_of(source: MemorySource, *, fix: str = "") -> Fingerprint:
    """Symptoms from the latest brief, the confirmed cause (else the top hypothesis, unconfirmed), fix, owners.

    Briefs written before symptoms were stored fall back to the stored evidence (no stack-trace signatures).
    """
    brief: dict[str, Any] = source.brief if isinstance(source.brief, dict) else {}
    latest = [s.hypothesis for s in source.hypotheses if s.investigation_id == source.investigation_id]
    symptoms = _symptoms(brief, source, latest)
    cause_h = _cause_hypothesis(source, latest)
    cause = (
        None
        if cause_h is None
        else RootCause(
            service=cause_h.service,
            fault=cause_h.fault,
            component=cause_h.component,
            claim=cause_h.claim,
            confirmed=cause_h.status is HypothesisStatus.CONFIRMED,
        )
    )
    refuted = sorted(
        {
            (s.hypothesis.service, s.hypothesis.fault)
            for s in source.hypotheses
            if s.hypothesis.status is HypothesisStatus.REFUTED
        }
    )
    fix_text, fix_source = _fix(fix, source.resolution_note, brief, cause_h)
    owners = tuple(dict.fromkeys(o.name for o in cause_h.owners)) if cause_h else ()
    return Fingerprint(
        incident_id=source.incident.id,
        title=source.incident.title,
        symptoms=symptoms,
        cause=cause,
        refuted=tuple((s, FaultKind(f)) for s, f in refuted),
        fix=fix_text,
        fix_source=fix_source,
        owners=owners,
        path=dependency_path(symptoms.edges, cause.service) if cause else (),
        resolved_at=source.incident.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def _symptoms(brief: dict[str, Any], source: MemorySource, latest: list[Hypothesis]) -> Symptoms:
    stored = brief.get("symptoms")
    if isinstance(stored, dict):
        try:
            return Symptoms.from_dict(stored)
        except ValueError as exc:
            raise StoreError(
                f"incident {source.incident.id}: the stored brief's symptoms are malformed: {exc}"
            ) from exc
    edges = [(str(e["caller"]), str(e["callee"])) for e in brief.get("graph", []) if "caller" in e and "callee" in e]
    affected = brief.get("impact", {}).get("affected_services", [])
    return symptoms_of(
        evidence={e.id: e for e in source.evidence}, hypotheses=latest, edges=edges, affected=[str(s) for s in affected]
    )


def _cause_hypothesis(source: MemorySource, latest: list[Hypothesis]) -> Hypothesis | None:
    for stored in source.hypotheses:  # latest investigation first: the newest confirmation wins
        if stored.hypothesis.status is HypothesisStatus.CONFIRMED:
            return stored.hypothesis
    candidates = [h for h in latest if h.status is not HypothesisStatus.REFUTED]
    return candidates[0] if candidates else None


def _fix(given: str, note: str, brief: dict[str, Any], cause: Hypothesis | None) -> tuple[str, str]:
    if given.strip():
        return given.strip(), FIX_GIVEN
    if note.strip():
        return note.strip(), FIX_NOTE
    if cause is not None:
        for item in brief.get("hypotheses", []):
            if item.get("id") == cause.id and item.get("fixes"):
                return str(item["fixes"][0].get("title", "")), FIX_SUGGESTED
    return "", ""


def _now() -> datetime:
    return datetime.now(UTC)
