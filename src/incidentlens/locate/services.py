"""Service <-> folder mapping: the catalog decides when it knows, otherwise folder names are a hint.

Pure code over the tracked file list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from incidentlens.locate.catalog import Catalog

# Conventional parents of per-service folders, most specific first.
SERVICE_PARENTS: tuple[str, ...] = ("services", "src", "apps", "cmd", "packages", "components")


@dataclass(frozen=True, slots=True)
class ServiceFolder:
    service: str
    path: str
    why: str


def _spellings(name: str) -> set[str]:
    base = name.strip().lower()
    return {base, base.replace("-", "_"), base.replace("_", "-"), base.removesuffix("service").strip("-_")}


def _top_dirs(files: Iterable[str]) -> set[str]:
    """Every folder at depth one and two (e.g. `services`, `services/payment`)."""
    dirs: set[str] = set()
    for path in files:
        parts = path.split("/")
        if len(parts) > 1:
            dirs.add(parts[0])
        if len(parts) > 2:
            dirs.add(f"{parts[0]}/{parts[1]}")
    return dirs


def folder_for_service(
    service: str,
    *,
    catalog: Catalog | None,
    files: Iterable[str],
    inferred: Sequence[ServiceFolder] = (),
) -> ServiceFolder | None:
    """Where a service's code lives: catalog `path`, else a build/deploy manifest naming it (`inferred`,
    see `manifests.py`), else `services/<name>/`, `src/<name>/`, `<name>/`."""
    if catalog is not None:
        entry = catalog.get(service)
        if entry is not None:
            return ServiceFolder(service, entry.path, f"{catalog.source}: services.{service}.path")
    wanted = _spellings(service)
    named = [hint for hint in inferred if _spellings(hint.service) & wanted]
    if named:
        # Several manifests may agree; the shallowest folder is the service root (not a sub-module).
        best = min(named, key=lambda h: (h.path.count("/"), h.path))
        return ServiceFolder(service, best.path, f"inferred: {best.why}")
    dirs = _top_dirs(files)
    for parent in SERVICE_PARENTS:
        for dirname in sorted(dirs):
            head, _, tail = dirname.partition("/")
            if head == parent and tail and tail.lower() in wanted:
                return ServiceFolder(service, dirname, f"inferred from folder name {dirname}/")
    for dirname in sorted(dirs):
        if "/" not in dirname and dirname.lower() in wanted:
            return ServiceFolder(service, dirname, f"inferred from top-level folder {dirname}/")
    return None


def service_for_path(path: str, *, catalog: Catalog | None) -> ServiceFolder | None:
    """Which service a file belongs to: the catalog's longest matching folder, else its folder name."""
    if catalog is not None:
        entry = catalog.service_for_path(path)
        if entry is not None:
            return ServiceFolder(entry.name, entry.path, f"{catalog.source}: services.{entry.name}.path")
    parts = path.split("/")
    if len(parts) > 2 and parts[0] in SERVICE_PARENTS:
        return ServiceFolder(parts[1], f"{parts[0]}/{parts[1]}", f"inferred from folder {parts[0]}/{parts[1]}/")
    return None
