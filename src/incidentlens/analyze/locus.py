"""Inner-service locus: where in the code behaviour changed, from log statements that carry line numbers.

Statements of one class that normally run together keep a stable ratio of counts (each request passes both).
When requests start to fail or return early between two statements, the later one is written less often
than the earlier one: the region between them is where behaviour changed. A statement that starts writing
errors in the incident marks a locus too.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from dataclasses import dataclass

from incidentlens.analyze.evidence_ids import evidence_id, excerpt
from incidentlens.model import Evidence, EvidenceKind, TimeRange
from incidentlens.telemetry.rows import LoggerCount

_STATEMENT = re.compile(r"^(?P<cls>[\w$.\[\]]+?)[#:](?P<line>\d+)$")
MIN_TRIALS = 5
Z_DROP = 3.0


@dataclass(frozen=True, slots=True)
class Locus:
    text: str
    score: float
    evidence: Evidence
    is_region: bool  # between two statements (a path stopped part-way), not one statement writing errors
    stopped_share: float = 1.0  # of the requests expected to reach the later statement, the share that did not


def _statement(logger: str) -> tuple[str, int] | None:
    m = _STATEMENT.match(logger.strip())
    return (m.group("cls"), int(m.group("line"))) if m else None


def _drop_z(base_a: int, base_b: int, inc_a: int, inc_b: int) -> float:
    """How far the incident's b/a ratio fell below the normal one, as a binomial z-score."""
    if base_a < MIN_TRIALS or inc_a < MIN_TRIALS or base_b <= 0:
        return 0.0
    ratio = min(base_b / base_a, 1.0)
    expected = inc_a * ratio
    observed = min(inc_b, inc_a)
    var = max(inc_a * ratio * (1 - ratio), 0.25 * ratio + 1.0)
    return (expected - observed) / math.sqrt(var)


def _stopped_share(base_a: int, base_b: int, inc_a: int, inc_b: int) -> float:
    """1.0 when no request reached the later statement although normally they do; 0.0 when all did."""
    expected = inc_a * min(base_b / base_a, 1.0) if base_a else 0.0
    return max(0.0, 1.0 - min(inc_b, inc_a) / expected) if expected > 0 else 0.0


def find_loci(counts: list[LoggerCount], *, service: str, incident: TimeRange) -> list[Locus]:
    """Regions whose later statement fell behind, and statements that began writing errors, best first."""
    by_class: dict[str, list[tuple[int, LoggerCount]]] = defaultdict(list)
    for c in counts:
        parsed = _statement(c.logger)
        if parsed is not None:
            by_class[parsed[0]].append((parsed[1], c))
    loci: list[Locus] = []
    for cls, statements in by_class.items():
        statements.sort(key=lambda pair: pair[0])
        for (line_a, a), (line_b, b) in itertools.pairwise(statements):
            z = _drop_z(a.baseline_count, b.baseline_count, a.incident_count, b.incident_count)
            if z < Z_DROP:
                continue
            text = f"{cls}#{line_a}_{cls}#{line_b}"
            ev = Evidence(
                id=evidence_id(EvidenceKind.CODE_LOCATION, service, text),
                kind=EvidenceKind.CODE_LOCATION,
                service=service,
                summary=(
                    f"requests stop between {cls}#{line_a} and {cls}#{line_b}: the later statement ran "
                    f"{b.incident_count} times for {a.incident_count} of the earlier (normally "
                    f"{b.baseline_count} for {a.baseline_count})"
                ),
                excerpt=excerpt(f"{a.example}\n...\n{b.example}"),
                time_range=incident,
                source_ref=f"logger:{cls}#{line_a}",
                score=round(z, 2),
                attributes={"locus": text, "class": cls, "start_line": line_a, "end_line": line_b},
            )
            share = _stopped_share(a.baseline_count, b.baseline_count, a.incident_count, b.incident_count)
            loci.append(Locus(text, z, ev, True, share))
        for i, (line, c) in enumerate(statements):
            if c.level in ("ERROR", "FATAL") and c.incident_count >= MIN_TRIALS and c.baseline_count == 0:
                # Behaviour changed between the last statement before it that still runs and the error itself.
                before = next(
                    (
                        ln
                        for ln, b in reversed(statements[:i])
                        if b.incident_count > 0 and b.level not in ("ERROR", "FATAL")
                    ),
                    None,
                )
                text = f"{cls}#{before}_{cls}#{line}" if before is not None else f"{cls}#{line}"
                ev = Evidence(
                    id=evidence_id(EvidenceKind.CODE_LOCATION, service, text),
                    kind=EvidenceKind.CODE_LOCATION,
                    service=service,
                    summary=f"{cls}#{line} began writing errors: {c.incident_count} lines, none in the normal period"
                    + (f"; the statement before it that still runs is {cls}#{before}" if before is not None else ""),
                    excerpt=excerpt(c.example),
                    time_range=incident,
                    source_ref=f"logger:{cls}#{line}",
                    score=float(c.incident_count),
                    attributes={
                        "locus": text,
                        "class": cls,
                        "start_line": before if before is not None else line,
                        "end_line": line,
                    },
                )
                loci.append(Locus(text, math.sqrt(c.incident_count), ev, False))
    loci.sort(key=lambda locus: (-locus.score, locus.text))
    return loci
