"""The one small protocol every input format implements."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from incidentlens.ingest.sink import RowSink


class FormatReader(Protocol):
    """A module-level object per format, registered in `ingest/registry.py`.

    `sniff` decides from content (the first bytes, already decoded when they are text) whether this
    reader understands the file; `read` appends rows to the sink and reports bad records with
    `sink.problem(...)` instead of raising.
    """

    @property
    def name(self) -> str: ...

    @property
    def signals(self) -> tuple[str, ...]: ...

    def sniff(self, head: str, path: Path) -> bool: ...

    def read(self, path: Path, sink: RowSink) -> None: ...
