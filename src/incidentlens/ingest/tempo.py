"""Legacy Tempo v1 / Grafana "Import trace" JSON: `{"batches": [...]}` of pre-1.0 OTLP resource spans.

The batches are OTLP resource spans with `instrumentationLibrarySpans`, base64 ids and enum names, so
the OTLP span conversion reads them unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from incidentlens.errors import FormatError
from incidentlens.ingest.common import load_json_document
from incidentlens.ingest.otlp_common import Position
from incidentlens.ingest.otlp_traces import add_resource_spans
from incidentlens.ingest.sink import RowSink

_BATCHES_RE = re.compile(r'(?<!\\)"batches"\s*:\s*\[')
_SPANS_RE = re.compile(r'"(instrumentationLibrarySpans|scopeSpans)"\s*:')


@dataclass(slots=True)  # not frozen: FormatReader declares plain (settable) attributes
class TempoLegacyReader:
    name: str = "tempo-legacy"
    signals: tuple[str, ...] = ("traces",)

    def sniff(self, head: str, path: Path) -> bool:
        """A JSON object with a `batches` list holding OTLP scope spans."""
        return head.lstrip().startswith("{") and bool(_BATCHES_RE.search(head) and _SPANS_RE.search(head))

    def read(self, path: Path, sink: RowSink) -> None:
        document = load_json_document(path)
        batches = document.get("batches") if isinstance(document, dict) else None
        if not isinstance(batches, list):
            raise FormatError(str(path), 'not a Tempo trace: no "batches" list at the top level')
        add_resource_spans(batches, sink, Position(str(path)))


READER = TempoLegacyReader()
