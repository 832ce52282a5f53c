"""Attach code locations, suspect commits and owners to a hypothesis from the stack traces it logged."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import orjson

from incidentlens.locate.locate import locate, suspects_for_locations
from incidentlens.locate.statements import NewStatement, locate_statements
from incidentlens.model import Hypothesis
from incidentlens.model.stack import Frame


def frames_from_json(text: str) -> list[Frame]:
    """Frames stored in the telemetry `frames` column ({file, line, function, module, library})."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        return []
    frames: list[Frame] = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, dict) or not item.get("file"):
            continue
        line = item.get("line")
        frames.append(
            Frame(
                file=str(item["file"]),
                line=int(line) if isinstance(line, int) else None,
                function=str(item.get("function") or ""),
                module=str(item.get("module") or ""),
                is_library=bool(item.get("library", False)),
            )
        )
    return frames


def locate_hypothesis(
    repo: Path,
    hypothesis: Hypothesis,
    frame_sets: Sequence[str],
    *,
    onset_ns: int | None,
    templates: Sequence[str] = (),
    statements: Sequence[NewStatement] = (),
) -> tuple[Hypothesis, tuple[str, ...]]:
    """The hypothesis with its code, suspects and owners; notes explain anything that degraded.

    `templates` are the hypothesis's log templates (evidence attribute `template`): each is matched to
    the logging call that prints it, after the stack frames.
    """
    frames = [f for text in frame_sets for f in frames_from_json(text)]
    result = locate(repo, service=hypothesis.service, frames=frames, onset_ns=onset_ns, templates=templates)
    changed = locate_statements(repo, statements, folder=result.service_folder, onset_ns=onset_ns)
    locations = (*changed, *result.locations)[:3]
    suspects, notes = result.suspect_commits, result.notes
    if changed:  # the changed statement's lines were not blamed by `locate`: blame every shown line now
        suspects, more = suspects_for_locations(repo, locations, onset_ns=onset_ns)
        notes = tuple(dict.fromkeys(n for n in (*notes, *more) if not (suspects and n.startswith("no commit touched"))))
    located = dataclasses.replace(
        hypothesis, locations=locations, suspect_commits=suspects[:3], owners=result.owners[:3]
    )
    return located, notes
