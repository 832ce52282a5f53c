"""Who owns a path: CODEOWNERS first, the catalog's service owner second, recent committers third.

Pure code; the caller supplies the parsed files and the file's recent commits.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from incidentlens.locate.catalog import Catalog
from incidentlens.locate.codeowners import Codeowners
from incidentlens.locate.git import CommitInfo
from incidentlens.model.enums import OwnerSource
from incidentlens.model.records import Owner

MAX_COMMITTERS = 3


def owners_for_path(
    path: str,
    *,
    codeowners: Codeowners | None,
    catalog: Catalog | None,
    recent_commits: Sequence[CommitInfo] = (),
) -> tuple[tuple[Owner, ...], tuple[str, ...]]:
    """All owners of `path` in priority order, each with a `why`, and notes (e.g. explicitly unowned)."""
    owners: list[Owner] = []
    notes: list[str] = []
    if codeowners is not None:
        rule = codeowners.match(path)
        if rule is not None and rule.owners:
            why = f"{codeowners.source}:{rule.line} `{rule.pattern}` matches {path} (last matching rule wins)"
            owners.extend(Owner(name=o, source=OwnerSource.CODEOWNERS, why=why) for o in rule.owners)
        elif rule is not None:
            notes.append(f"{path} is explicitly unowned: {codeowners.source}:{rule.line} `{rule.pattern}` lists none")
    if catalog is not None:
        entry = catalog.service_for_path(path)
        if entry is not None and (entry.owner or entry.team):
            owners.append(
                Owner(
                    name=entry.owner or entry.team,
                    source=OwnerSource.CATALOG,
                    why=f"{catalog.source}: service {entry.name} owns {entry.path}/"
                    + (f" (team {entry.team})" if entry.team and entry.owner else ""),
                    contact=entry.oncall,
                )
            )
    counts = Counter((c.author, c.email) for c in recent_commits)
    for (author, email), n in counts.most_common(MAX_COMMITTERS):
        owners.append(
            Owner(
                name=author,
                source=OwnerSource.COMMITTERS,
                why=f"authored {n} of the last {len(recent_commits)} commits touching {path}",
                contact=email,
            )
        )
    return dedupe_owners(owners), tuple(notes)


def dedupe_owners(owners: Sequence[Owner]) -> tuple[Owner, ...]:
    """Keep the first (highest-priority) entry for each (name, source)."""
    seen: set[tuple[str, OwnerSource]] = set()
    kept: list[Owner] = []
    for owner in owners:
        key = (owner.name, owner.source)
        if key not in seen:
            seen.add(key)
            kept.append(owner)
    return tuple(kept)
