"""kill -9 at every store write of `ingest`, `investigate --record`, `fix approve` and `incident ack`.

    PYTHONPATH=src python benchmarks/kill_points.py [--only ingest,record,approve,ack] [--keep DIR]

The tests in tests/faults kill each command at a few points; this run kills it at every one: before each
SQL statement and each commit of the workflow database, and before each call on the telemetry store's DuckDB
connection (tests/faults/killpoint.py). After each kill the stores must be consistent (SQLite integrity and
foreign keys, `audit verify`, no incident without its investigation, status events and audit entries, no
investigation without its hypotheses, DuckDB all-or-nothing) and the same command must then run to its end on
the same workspace. Prints the kill points per command and every failure; exit status 1 when any failed.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.helpers import cli, prepare_fix_workspace, rows, run_to, workflow_consistent  # noqa: E402

from incidentlens.telemetry.store import TELEMETRY_FILE, TelemetryStore  # noqa: E402


def _counts(ws: Path) -> dict[str, int]:
    with TelemetryStore(ws / TELEMETRY_FILE) as store:
        return store.counts()


def _check_ingest(template: Path, bundle: Path, point: str, work: Path) -> str | None:
    ws = work / point.replace(":", "-")
    shutil.copytree(template, ws)
    once = _counts(template)
    code, _reached, err = run_to(point, ws, "ingest", str(bundle))
    if code != -signal.SIGKILL:
        return f"exit {code}, not killed: {err[-300:]}"
    after = _counts(ws)
    twice = {t: n * 2 for t, n in once.items()}
    if after not in (once, twice):
        return f"store neither before nor after: {after}"
    code, text = cli(ws, "ingest", str(bundle))
    return None if code == 0 else f"restart failed: {text[-300:]}"


def _check_workflow(template: Path, args: tuple[str, ...], point: str, work: Path, table: str) -> str | None:
    ws = work / point.replace(":", "-")
    shutil.copytree(template, ws)
    before = rows(ws, f"SELECT count(*) FROM {table}")[0][0]
    code, _reached, err = run_to(point, ws, *args)
    if code != -signal.SIGKILL:
        return f"exit {code}, not killed: {err[-300:]}"
    try:
        workflow_consistent(ws)
    except AssertionError as exc:
        return f"inconsistent after the kill: {exc}"
    after = rows(ws, f"SELECT count(*) FROM {table}")[0][0]
    if after not in (before, before + 1):  # type: ignore[operator]
        return f"{table}: {before} -> {after}"
    code, text = cli(ws, *args)
    if code not in (0, 2):
        return f"restart failed ({code}): {text[-300:]}"
    try:
        workflow_consistent(ws)
    except AssertionError as exc:
        return f"inconsistent after the restart: {exc}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="ingest,record,approve,ack")
    parser.add_argument("--keep", type=Path)
    args = parser.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="kill-points-"))
    base.mkdir(parents=True, exist_ok=True)
    bundle = base / "bundle"
    if not bundle.exists():
        code, text = cli(
            base,
            "simulate",
            "--fault",
            "cpu_saturation",
            "--seed",
            "3",
            "--scale",
            "0.1",
            "--trace-sample",
            "0.2",
            "--out",
            str(bundle),
        )
        assert code == 0, text
        shutil.rmtree(bundle / "repo")
    record_args = ("investigate", str(bundle), "--record", "--no-memory", "--format", "json")
    scenarios: dict[str, tuple[Path, tuple[str, ...], str, list[str]]] = {}
    wanted = set(args.only.split(","))

    if "ingest" in wanted:
        template = base / "ingest-template"
        code, calls, err = run_to("none", template, "ingest", str(bundle))
        assert code == 0, err
        scenarios["ingest"] = (
            template,
            ("ingest", str(bundle)),
            "",
            [f"duckdb:{n}" for n in range(1, calls["duckdb"] + 1)],
        )
    if "record" in wanted:
        template = base / "record-template"
        assert cli(template, "incident", "list")[0] == 0
        probe = base / "record-probe"
        shutil.copytree(template, probe)
        code, calls, err = run_to("none", probe, *record_args)
        assert code == 0, err
        points = [f"sql:{n}" for n in range(1, calls["sql"] + 1)] + [
            f"commit:{n}" for n in range(1, calls["commit"] + 1)
        ]
        scenarios["record"] = (template, record_args, "investigations", points)
    for name, command in (
        ("approve", ("fix", "approve", "INC-0001-F1", "--as", "alice")),
        ("ack", ("incident", "ack", "INC-0001", "--as", "rita")),
    ):
        if name not in wanted:
            continue
        template = base / f"{name}-template"
        prepare_fix_workspace(template)
        probe = base / f"{name}-probe"
        shutil.copytree(template, probe)
        code, calls, err = run_to("none", probe, *command)
        assert code == 0, err
        points = [f"sql:{n}" for n in range(1, calls["sql"] + 1)] + [
            f"commit:{n}" for n in range(1, calls["commit"] + 1)
        ]
        table = "fix_decisions" if name == "approve" else "status_events"
        scenarios[name] = (template, command, table, points)

    failures: list[str] = []
    started = time.perf_counter()
    for name, (template, command, table, points) in scenarios.items():
        work = base / f"{name}-runs"
        work.mkdir(exist_ok=True)

        results = []
        for point in points:
            if name == "ingest":
                results.append((point, _check_ingest(template, bundle, point, work)))
            else:
                results.append((point, _check_workflow(template, command, point, work, table)))
            print(f"  {name} {point}: {results[-1][1] or 'consistent, restart ok'}", flush=True)
        bad = [(p, r) for p, r in results if r is not None]
        failures.extend(f"{name} {p}: {r}" for p, r in bad)
        print(f"{name:8} {len(points):4} kill points, {len(bad)} failed", flush=True)
    total = sum(len(s[3]) for s in scenarios.values())
    print(f"total    {total:4} kill points, {len(failures)} failed, {time.perf_counter() - started:.0f} s")
    for failure in failures:
        print("FAILED", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
