"""From evidence to code and owners: stack frames -> files and lines, suspect commits, owners (via `git`)."""

from __future__ import annotations

from incidentlens.locate.catalog import Catalog, ServiceEntry, parse_catalog
from incidentlens.locate.codeowners import Codeowners, CodeownersRule, parse_codeowners
from incidentlens.locate.frames import FileIndex, FrameLike, is_library_frame, strip_container_prefix
from incidentlens.locate.git import Git, open_repository
from incidentlens.locate.locate import LocateResult, locate

__all__ = [
    "Catalog",
    "Codeowners",
    "CodeownersRule",
    "FileIndex",
    "FrameLike",
    "Git",
    "LocateResult",
    "ServiceEntry",
    "is_library_frame",
    "locate",
    "open_repository",
    "parse_catalog",
    "parse_codeowners",
    "strip_container_prefix",
]
