"""Every format reader, in detection order (most specific first). Plugins register here too."""

from __future__ import annotations

import importlib
from pathlib import Path

from incidentlens.ingest.protocol import FormatReader

# (module, attribute) pairs; each attribute is a FormatReader. Order matters: the first reader whose
# `sniff` accepts the content wins, so envelopes and specific shapes come before generic ones.
_READER_PATHS: tuple[tuple[str, str], ...] = (
    ("incidentlens.ingest.changes", "READER"),
    ("incidentlens.ingest.alertmanager", "READER"),
    ("incidentlens.ingest.pagerduty", "READER"),
    ("incidentlens.ingest.opsgenie", "READER"),
    ("incidentlens.ingest.prometheus", "READER"),
    ("incidentlens.ingest.loki", "READER"),
    ("incidentlens.ingest.otlp_traces", "READER"),
    ("incidentlens.ingest.otlp_logs", "READER"),
    ("incidentlens.ingest.otlp_metrics", "READER"),
    ("incidentlens.ingest.tempo", "READER"),
    ("incidentlens.ingest.jaeger", "READER"),
    ("incidentlens.ingest.zipkin", "READER"),
    ("incidentlens.ingest.widecsv", "READER"),
    ("incidentlens.ingest.jsonlogs", "READER"),
    ("incidentlens.ingest.textlogs", "READER"),
)


def all_readers() -> list[FormatReader]:
    readers: list[FormatReader] = []
    for module_name, attr in _READER_PATHS:
        module = importlib.import_module(module_name)
        readers.append(getattr(module, attr))
    return readers


def reader_by_name(name: str) -> FormatReader | None:
    return next((r for r in all_readers() if r.name == name), None)


def detect(head: str, path: Path, *, signal: str | None = None) -> FormatReader | None:
    """The first reader that recognises the content (among those producing `signal`, when given), or None."""
    for reader in all_readers():
        if signal is not None and signal not in reader.signals:
            continue
        if reader.sniff(head, path):
            return reader
    return None
