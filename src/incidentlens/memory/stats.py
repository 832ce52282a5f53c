"""Recurrence metrics: how often a confirmed cause had been seen before, and whether memory surfaced it.

An incident recurs when an incident opened before it, and indexed, ended with the same root cause
(service and fault kind). It was surfaced when the brief of its first investigation listed one of those
past incidents under "Seen before": the moment memory could have saved the on-call engineer time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from incidentlens.store.database import Database
from incidentlens.store.memory_repository import MemoryEntryRow, first_briefs, memory_entries


@dataclass(frozen=True, slots=True)
class Recurrence:
    incident_id: str
    service: str
    fault: str
    past: tuple[str, ...]  # earlier incidents with the same cause, oldest first
    surfaced: tuple[str, ...]  # those the first brief showed as seen before


@dataclass(frozen=True, slots=True)
class MemoryStats:
    indexed: int
    confirmed: int  # indexed incidents whose root cause a human confirmed
    recurrences: tuple[Recurrence, ...]  # confirmed causes that match an earlier incident

    @property
    def recurring_share(self) -> float:
        """Share of confirmed causes that had been seen before."""
        return len(self.recurrences) / self.confirmed if self.confirmed else 0.0

    @property
    def surfaced_share(self) -> float:
        """Share of recurrences whose first brief surfaced a past incident with the same cause."""
        return sum(1 for r in self.recurrences if r.surfaced) / len(self.recurrences) if self.recurrences else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "indexed": self.indexed,
            "confirmed": self.confirmed,
            "recurring": len(self.recurrences),
            "recurring_share": round(self.recurring_share, 4),
            "surfaced": sum(1 for r in self.recurrences if r.surfaced),
            "surfaced_share": round(self.surfaced_share, 4),
            "recurrences": [
                {
                    "incident_id": r.incident_id,
                    "service": r.service,
                    "fault": r.fault,
                    "past": list(r.past),
                    "surfaced": list(r.surfaced),
                }
                for r in self.recurrences
            ],
        }


def memory_stats(db: Database) -> MemoryStats:
    entries = memory_entries(db)
    return recurrence_stats(entries, first_briefs(db, incident_ids=[e.incident_id for e in entries if e.confirmed]))


def recurrence_stats(entries: Sequence[MemoryEntryRow], briefs: Mapping[str, Any]) -> MemoryStats:
    """Pure: `entries` oldest opened first, `briefs` the first brief of each confirmed incident."""
    recurrences: list[Recurrence] = []
    for i, e in enumerate(entries):
        if not e.confirmed or e.service is None or e.fault is None:
            continue
        past = tuple(p.incident_id for p in entries[:i] if (p.service, p.fault) == (e.service, e.fault))
        if not past:
            continue
        brief = briefs.get(e.incident_id)
        shown = {str(s.get("incident_id")) for s in brief.get("seen_before", [])} if isinstance(brief, dict) else set()
        recurrences.append(
            Recurrence(e.incident_id, e.service, e.fault.value, past, tuple(p for p in past if p in shown))
        )
    return MemoryStats(len(entries), sum(1 for e in entries if e.confirmed), tuple(recurrences))
