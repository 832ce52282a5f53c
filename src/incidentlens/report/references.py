"""Sentences that carry their references, so every claim in a postmortem or status update can be traced.

A reference is an evidence id of the incident (`[ev:ID]`) or a seq of its audit chain (`[audit:SEQ]`).
Builders never make a sentence without one: a fact they cannot reference is left out and counted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from incidentlens.model.records import Evidence
    from incidentlens.store.rows import AuditEntry

__all__ = [
    "Footnote",
    "Ref",
    "RefKind",
    "Section",
    "Sentence",
    "SentenceList",
    "footnotes",
    "one_line",
    "span",
    "stamp",
]

_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_EXCERPT_CHARS = 240


class RefKind(StrEnum):
    EVIDENCE = "ev"
    AUDIT = "audit"


@dataclass(frozen=True, slots=True, order=True)
class Ref:
    """An evidence id or an audit seq (as text) of the incident the report is about."""

    kind: RefKind
    key: str

    @classmethod
    def evidence(cls, evidence_id: str) -> Ref:
        return cls(RefKind.EVIDENCE, evidence_id)

    @classmethod
    def audit(cls, seq: int) -> Ref:
        return cls(RefKind.AUDIT, str(seq))

    @property
    def label(self) -> str:
        """`ev:ID` or `audit:SEQ`, as printed between brackets."""
        return f"{self.kind.value}:{self.key}"

    @property
    def anchor(self) -> str:
        """An HTML id for the footnote this reference links to."""
        return f"ref-{self.kind.value}-{_ANCHOR_UNSAFE.sub('-', self.key)}"


@dataclass(frozen=True, slots=True)
class Sentence:
    """One factual sentence and the records it rests on (at least one)."""

    text: str
    refs: tuple[Ref, ...]
    at: datetime | None = None  # set on timeline sentences: when it happened (UTC)

    def __post_init__(self) -> None:
        if not self.refs:
            raise ValueError(f"a report sentence needs a reference: {self.text!r}")


@dataclass(frozen=True, slots=True)
class Section:
    """A titled list of sentences; `key` is stable for templates (`summary`, `impact`, ...)."""

    key: str
    title: str
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True, slots=True)
class Footnote:
    """What a reference points at, listed once at the end of a report."""

    ref: Ref
    title: str
    detail: str


class SentenceList:
    """Collects sentences; a fact without any reference is dropped and counted, never shown bare."""

    def __init__(self) -> None:
        self.items: list[Sentence] = []
        self.dropped = 0

    def add(self, text: str, refs: Iterable[Ref | None], *, at: datetime | None = None) -> bool:
        kept = tuple(dict.fromkeys(r for r in refs if r is not None))
        if not kept:
            self.dropped += 1
            return False
        self.items.append(Sentence(one_line(text), kept, at))
        return True

    def done(self) -> tuple[Sentence, ...]:
        return tuple(self.items)


def one_line(text: str) -> str:
    """Collapse newlines and runs of blanks: user comments and excerpts stay inside their bullet."""
    return " ".join(str(text).split())


def stamp(at: datetime | None) -> str:
    """`2026-11-08 09:32:45Z`, or `-`."""
    if at is None:
        return "-"
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def footnotes(
    sections: Iterable[Section], *, evidence: Mapping[str, Evidence], audit: Mapping[int, AuditEntry]
) -> tuple[Footnote, ...]:
    """One footnote per reference used (evidence in order of first use, then audit entries by seq)."""
    seen: dict[Ref, None] = {}
    for section in sections:
        for sentence in section.sentences:
            seen.update(dict.fromkeys(sentence.refs))
    ordered = [r for r in seen if r.kind is RefKind.EVIDENCE]
    ordered += sorted((r for r in seen if r.kind is RefKind.AUDIT), key=lambda r: int(r.key))
    notes = []
    for ref in ordered:
        if ref.kind is RefKind.EVIDENCE:
            item = evidence.get(ref.key)
            if item is not None:
                where = f" on {item.service}" if item.service else ""
                title = f"{item.kind.value}{where}: {one_line(item.summary)}"
                notes.append(Footnote(ref, title, _clip(item.excerpt)))
        else:
            entry = audit.get(int(ref.key))
            if entry is not None:
                title = f"{stamp(entry.at)} {entry.actor}: {entry.entity} {entry.entity_id} {entry.action}"
                notes.append(Footnote(ref, title, f"hash {entry.hash[:16]}"))
    return tuple(notes)


def _clip(text: str) -> str:
    flat = one_line(text)
    return flat if len(flat) <= _EXCERPT_CHARS else flat[: _EXCERPT_CHARS - 1] + "…"


def span(value: timedelta) -> str:
    """A short human duration: `1d 02h`, `1h 05m`, `3m 20s`, `45s`."""
    seconds = round(value.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours:02d}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"
