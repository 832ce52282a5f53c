"""The investigation use case: local sources first, the window decided before live sources load, failing
sources as notes, and the same answer whichever way the same telemetry arrives."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentlens.errors import InputError, SourceError
from incidentlens.ingest.runner import read_paths
from incidentlens.ingest.sink import RowSink
from incidentlens.investigation import InvestigationRequest, TimeWindow, run
from incidentlens.investigation.request import DEFAULT_INCIDENT_LIMIT_NS, DEFAULT_NORMAL_PERIOD_NS
from incidentlens.simulate import Truth, simulate
from incidentlens.sources.files import FileSource
from incidentlens.sources.protocol import SourceProgress, SourceQuery, SourceReport

MINUTE_NS = 60_000_000_000


class ReplaySource:
    """A live source that answers from files and remembers what it was asked (a stand-in for a backend)."""

    kind = "replay"
    signals = ("logs", "spans", "metrics", "changes")
    live = True

    def __init__(self, paths: list[Path], name: str = "replay") -> None:
        self.name = name
        self.paths = paths
        self.queries: list[SourceQuery] = []

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        self.queries.append(query)
        progress(f"{self.name}: replaying")
        report = SourceReport(self.name, self.kind, "replay://files")
        for table, n in read_paths(self.paths, sink).rows.items():
            report.add_rows(table, n)
        return report


class BrokenSource:
    kind = "broken"
    signals = ("spans",)
    live = True
    name = "tempo"

    def load(self, query: SourceQuery, sink: RowSink, progress: SourceProgress) -> SourceReport:
        raise SourceError("tempo source 'tempo': GET http://tempo:3200/api/search: HTTP 503 after 4 attempts")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    out = tmp_path_factory.mktemp("run") / "bundle"
    return out, simulate("bad_deploy_exception", seed=7, out=out, with_repo=False)


def _telemetry(bundle: Path) -> list[Path]:
    return [bundle / "logs", bundle / "traces", bundle / "metrics", bundle / "changes"]


def test_the_alert_gives_live_sources_their_window_and_the_answer_matches_files(bundle: tuple[Path, Truth]) -> None:
    folder, truth = bundle
    replay = ReplaySource(_telemetry(folder))
    progress: list[str] = []
    live = run(
        InvestigationRequest(
            sources=(FileSource.of([folder / "alerts"]), replay, BrokenSource()), progress=progress.append
        )
    )
    files = run(InvestigationRequest.for_files([folder]))
    (query,) = replay.queries
    lead = 15 * MINUTE_NS + DEFAULT_NORMAL_PERIOD_NS
    assert query.window.start_ns == truth.alert_ns - lead
    assert query.window.end_ns == truth.alert_ns + DEFAULT_INCIDENT_LIMIT_NS  # the data is older than now
    assert query.incident.start_ns == truth.alert_ns - 15 * MINUTE_NS
    assert live.hypotheses[0].service == files.hypotheses[0].service == truth.service
    assert [s.name for s in live.brief.sources] == ["files", "replay", "tempo"]
    failed = live.brief.sources[2]
    assert failed.failed and "HTTP 503" in failed.errors[0]
    assert any("source tempo (broken) failed" in n for n in live.brief.notes)
    assert "source(s) that did not answer: tempo" in live.brief.coverage_gaps
    assert "replay: replaying" in progress and "analysing" in progress


def test_a_live_source_without_a_window_is_refused(bundle: tuple[Path, Truth]) -> None:
    folder, _ = bundle
    with pytest.raises(InputError, match="needs a time window"):
        run(InvestigationRequest(sources=(ReplaySource(_telemetry(folder)),)))


def test_user_times_bound_the_window_and_fix_the_onset(bundle: tuple[Path, Truth]) -> None:
    folder, truth = bundle
    since, until, onset = truth.alert_ns - 20 * MINUTE_NS, truth.alert_ns + 5 * MINUTE_NS, truth.onset_ns
    replay = ReplaySource(_telemetry(folder))
    result = run(
        InvestigationRequest(sources=(replay,), window=TimeWindow(since_ns=since, until_ns=until, onset_ns=onset))
    )
    assert replay.queries[0].window.start_ns == since and replay.queries[0].window.end_ns == until
    assert result.windows.onset_ns == onset and result.brief.onset_reason == "given by the user"
    assert result.windows.baseline.start_ns >= since and result.windows.incident.end_ns <= until
    assert result.hypotheses[0].service == truth.service


def test_nothing_loaded_names_every_source_that_failed() -> None:
    with pytest.raises(InputError, match=r"tempo: tempo source 'tempo'.*HTTP 503"):
        run(InvestigationRequest(sources=(BrokenSource(),), window=TimeWindow(since_ns=0, until_ns=MINUTE_NS)))


def test_files_report_what_is_missing(bundle: tuple[Path, Truth]) -> None:
    folder, _ = bundle
    result = run(InvestigationRequest.for_files([folder / "metrics", folder / "alerts"]))
    assert "no traces from any source" in result.brief.coverage_gaps
    assert "no logs from any source" in result.brief.coverage_gaps


def test_the_onset_is_dated_by_a_change_point_and_the_timeline_says_where(bundle: tuple[Path, Truth]) -> None:
    folder, truth = bundle
    result = run(InvestigationRequest.for_files([folder]))
    reason = result.windows.onset_reason
    assert reason.startswith("onset estimated at ") and " change point (" in reason
    assert abs(result.windows.onset_ns - truth.onset_ns) <= 2 * MINUTE_NS
    onset = next(e for e in result.brief.timeline if e.kind == "onset")
    assert onset.text == reason and onset.ts_ns == result.windows.onset_ns
