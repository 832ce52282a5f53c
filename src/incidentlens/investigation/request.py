"""What an edge asks for: an `InvestigationRequest`, and what it gets back: an `InvestigationResult`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentlens.analyze.windows import Windows
from incidentlens.investigation.steps import Step
from incidentlens.memory.retrieve import Recall
from incidentlens.model import Evidence, Hypothesis, TimeRange
from incidentlens.report.brief import Brief
from incidentlens.sources.protocol import Source, SourceReport

MINUTE_NS = 60 * 1_000_000_000
DEFAULT_NORMAL_PERIOD_NS = 30 * MINUTE_NS  # before the onset search: what "normal" looks like
DEFAULT_INCIDENT_LIMIT_NS = 60 * MINUTE_NS  # after the alert, when it has not ended: at most this much

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    """Progress nobody watches."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Times the user gave (Unix ns): `since`/`until` bound what is read, `onset` fixes the incident's start."""

    since_ns: int | None = None
    until_ns: int | None = None
    onset_ns: int | None = None

    @property
    def given(self) -> bool:
        return self.since_ns is not None or self.until_ns is not None or self.onset_ns is not None


@dataclass(frozen=True)
class InvestigationRequest:
    """One investigation: where telemetry comes from, when, and which optional steps run.

    Local sources (files, a queued alert) are read first; an alert among them gives the window when the
    user gave none. Live sources then fetch only that window. `steps` run after code location (when a
    `repository` is given) and the memory prior (when `recall` is given), in order.
    """

    sources: tuple[Source, ...]
    window: TimeWindow = TimeWindow()
    repository: Path | None = None
    recall: Recall | None = None
    steps: tuple[Step, ...] = ()
    title: str | None = None
    services: tuple[str, ...] = ()  # narrow live sources to these services (empty: all)
    normal_period_ns: int = DEFAULT_NORMAL_PERIOD_NS
    incident_limit_ns: int = DEFAULT_INCIDENT_LIMIT_NS
    progress: Progress = _quiet
    # A dataset that defines its periods (a benchmark case) gives them instead of detection:
    windows: Windows | None = None
    metric_baseline: TimeRange | None = None
    # Bounded memory: DuckDB's limit (e.g. "1GB"; empty: DuckDB's default, or BIG_INPUT_MEMORY_LIMIT for big
    # inputs), and the folder that holds an on-disk store and its spill files (default: the system's temp).
    memory_limit: str = ""
    store_dir: Path | None = None

    @classmethod
    def for_files(
        cls, paths: list[Path], *, repository: Path | None = None, recall: Recall | None = None, **more: Any
    ) -> InvestigationRequest:
        """Investigate files and folders (any mix of formats), the window taken from their data."""
        from incidentlens.sources.files import FileSource

        return cls(sources=(FileSource.of(paths),), repository=repository, recall=recall, **more)


@dataclass(frozen=True)
class InvestigationResult:
    brief: Brief
    hypotheses: tuple[Hypothesis, ...]
    evidence: dict[str, Evidence]
    windows: Windows
    sources: tuple[SourceReport, ...] = field(default_factory=tuple)
