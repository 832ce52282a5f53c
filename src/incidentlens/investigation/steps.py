"""Optional steps of an investigation: each takes the investigation and returns a refined one.

They run after the deterministic core, in the order given in the request: code location (a git
repository), the memory prior (similar resolved incidents); later, a model-written narrative.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from incidentlens.errors import RepositoryError
from incidentlens.investigation.analysis import LOCATE_TOP, Investigation
from incidentlens.memory.fingerprint import Symptoms
from incidentlens.memory.observe import symptoms_of, trace_features
from incidentlens.memory.prior import apply_prior
from incidentlens.memory.retrieve import Recall
from incidentlens.model import EvidenceKind, Hypothesis

Step = Callable[[Investigation], Investigation]


def locate_code(repo: Path) -> Step:
    """Map the leading hypotheses to code, suspect commits and owners in `repo` (see `locate/`)."""
    from incidentlens.locate.hypothesis import locate_hypothesis
    from incidentlens.locate.statements import NewStatement

    def step(inv: Investigation) -> Investigation:
        queries, windows, evidence = inv.queries, inv.windows, inv.analysis.evidence
        hypotheses = list(inv.hypotheses)
        notes = list(inv.notes)
        for i, h in enumerate(hypotheses[:LOCATE_TOP]):
            frame_sets = [g.frames for g in queries.exception_frames(h.service, windows.incident)]
            templates = [
                str(evidence[e].attributes["template"])
                for e in h.supporting
                if e in evidence
                and evidence[e].kind is EvidenceKind.LOG_TEMPLATE
                and "template" in evidence[e].attributes
            ]
            statements = [
                NewStatement(op, text, previous)
                for op, text, previous in queries.new_statements(h.service, windows.baseline, windows.incident)
            ]
            try:
                hypotheses[i], found = locate_hypothesis(
                    repo, h, frame_sets, onset_ns=windows.onset_ns, templates=templates, statements=statements
                )
            except RepositoryError as exc:
                found = (f"code location skipped: {exc}",)
            notes.extend(n for n in found if n not in notes)
        return dataclasses.replace(inv, hypotheses=tuple(hypotheses), notes=tuple(notes))

    return step


def symptoms(inv: Investigation) -> Symptoms:
    """What the memory matches on: observed symptoms, the leading diagnosis, the dependency path."""
    return symptoms_of(
        evidence=inv.analysis.evidence,
        hypotheses=list(inv.hypotheses),
        edges=[(a, b) for a, b in inv.graph.edges],
        affected=inv.affected,
        traces=trace_features(inv.queries, [h.service for h in inv.hypotheses[:LOCATE_TOP]], inv.windows),
    )


def recall_memory(recall: Recall) -> Step:
    """Look the symptoms up among resolved incidents; matching past causes move confidence a bounded step."""

    def step(inv: Investigation) -> Investigation:
        observed = inv.symptoms or symptoms(inv)
        matches = tuple(recall(observed))
        adjusted, notes = apply_prior(inv.hypotheses, matches)
        if notes:  # a bounded prior can reorder close candidates; the evidence-based abstention stands
            adjusted.sort(key=_by_confidence)
        return dataclasses.replace(
            inv, hypotheses=tuple(adjusted), memory_notes=notes, matches=matches, symptoms=observed
        )

    return step


def _by_confidence(h: Hypothesis) -> float:
    return -h.confidence
