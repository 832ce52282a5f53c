"""Statements a service started sending in the incident (database queries, URLs) -> the code that builds them.

A changed query is found by the part that changed: the tokens of the new statement that its nearest
earlier statement of the same operation did not have. Those fragments are looked up as literals in the
service's code at the revision deployed before onset.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from incidentlens.locate.git import open_repository
from incidentlens.model import CodeLocation

MIN_FRAGMENT_CHARS = 4
MAX_LOCATIONS = 2


@dataclass(frozen=True, slots=True)
class NewStatement:
    """A statement first seen in the incident, with the ones the same operation sent before."""

    operation: str
    text: str
    previous: tuple[str, ...]


def changed_fragments(new: str, previous: Sequence[str]) -> list[str]:
    """Token runs of `new` absent from its most similar previous statement, longest first."""
    tokens = new.split()
    if not previous:
        return []
    nearest = max(previous, key=lambda old: difflib.SequenceMatcher(None, old.split(), tokens).ratio())
    matcher = difflib.SequenceMatcher(None, nearest.split(), tokens, autojunk=False)
    runs = [
        " ".join(tokens[j1:j2])
        for tag, _i1, _i2, j1, j2 in matcher.get_opcodes()
        if tag in ("replace", "insert") and j2 > j1
    ]
    runs = [r for r in runs if len(r) >= MIN_FRAGMENT_CHARS]
    return sorted(dict.fromkeys(runs), key=lambda r: (-len(r), r))


def locate_statements(
    repo: Path, statements: Sequence[NewStatement], *, folder: str, onset_ns: int | None
) -> list[CodeLocation]:
    """Lines in the service's folder that contain the changed part of a new statement."""
    needles = {frag: s for s in statements for frag in changed_fragments(s.text, s.previous)}
    if not needles:
        return []
    git = open_repository(repo)
    rev = (git.rev_before(onset_ns) if onset_ns else None) or git.head()
    if rev is None:
        return []
    pathspecs = [folder] if folder else []
    locations: list[CodeLocation] = []
    for hit in git.grep_fixed(list(needles), rev=rev, pathspecs=pathspecs):
        fragment = next((f for f in needles if f in hit.text), "")
        if not fragment:
            continue
        statement = needles[fragment]
        locations.append(
            CodeLocation(
                path=hit.path,
                line=hit.line,
                snippet=hit.text.strip(),
                commit=rev,
                why=(
                    f"holds `{fragment}`, the part of a statement `{statement.operation}` began sending in the"
                    f" incident that it did not send before"
                ),
                confidence=0.8,
            )
        )
    locations.sort(key=lambda loc: (-len(next((f for f in needles if f in loc.snippet), "")), loc.path, loc.line))
    return locations[:MAX_LOCATIONS]
