"""From evidence to code and owners: frames, log templates and lines, logger names, spans -> files and lines;
suspect commits; owners (all through `git`)."""

from __future__ import annotations

from incidentlens.locate.catalog import Catalog, ServiceEntry, parse_catalog
from incidentlens.locate.codeowners import Codeowners, CodeownersRule, parse_codeowners
from incidentlens.locate.frames import FileIndex, FrameLike, is_library_frame, strip_container_prefix
from incidentlens.locate.git import Git, open_repository
from incidentlens.locate.locate import LocateResult, locate
from incidentlens.locate.locatecode import CodeMatches, Located, QueryKind, locate_code
from incidentlens.locate.loggers import LoggerRef, find_logger_refs, parse_logger_ref

__all__ = [
    "Catalog",
    "CodeMatches",
    "Codeowners",
    "CodeownersRule",
    "FileIndex",
    "FrameLike",
    "Git",
    "LocateResult",
    "Located",
    "LoggerRef",
    "QueryKind",
    "ServiceEntry",
    "find_logger_refs",
    "is_library_frame",
    "locate",
    "locate_code",
    "open_repository",
    "parse_catalog",
    "parse_codeowners",
    "parse_logger_ref",
    "strip_container_prefix",
]
