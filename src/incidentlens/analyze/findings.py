"""The output of every analyser: evidence records plus findings that point at them."""

from __future__ import annotations

from dataclasses import dataclass, field

from incidentlens.model import Evidence, Finding


@dataclass
class Analysis:
    """Accumulates evidence (deduplicated by id) and findings from several analysers."""

    evidence: dict[str, Evidence] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)

    def add(self, evidence: Evidence, finding: Finding | None = None) -> None:
        self.evidence.setdefault(evidence.id, evidence)
        if finding is not None:
            self.findings.append(finding)

    def extend(self, other: Analysis) -> None:
        for ev in other.evidence.values():
            self.evidence.setdefault(ev.id, ev)
        self.findings.extend(other.findings)
