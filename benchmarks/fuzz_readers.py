"""Fuzz every reader with a million inputs: mutated seeds, Hypothesis-generated inputs and (optionally) atheris.

    PYTHONPATH=src python benchmarks/fuzz_readers.py [--inputs 1000000] [--hypothesis 60000] [--atheris 20000]
                                                     [--workers 2] [--seed 1] [--out DIR]

Targets (tests/fuzzing/targets.py): format detection plus every reader of `ingest/` (each forced on its own
seeds), the Alertmanager and PagerDuty webhook bodies (JSON, depth limit, parser, replay) and the stack-trace
parser. Seeds are `../shared/data/formats` and heads of the loghub, Nezha and RCD files, plus change, CSV and
log samples written in the harness.

- `--inputs`: seeds mutated 1-4 times each (byte flips, cuts, splices, tokens, deep nesting, gzip, JSON-aware
  value replacement), shared evenly among the targets;
- `--hypothesis`: Hypothesis strategies (seeds reshaped leaf by leaf, log lines, CSV tables, raw bytes);
- `--atheris`: coverage-guided libFuzzer runs per target when the `fuzz` extra (atheris) is installed.

A failure is a crash (any exception but an IncidentLensError), a hang (an input taking 1 s or more; a hard
limit of 10 s interrupts it), an error not naming the file or a skipped record without a position. Failing
inputs are written to --out (default: a temp folder) for a regression test. Exit status 1 when any failed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzzing.targets import HANG_SECONDS, Outcome, mutate, seeds, seeds_by_target, targets  # noqa: E402

HARD_LIMIT_SECONDS = 10
_CLEAN = ("ok", "error", "slow_under_load")
CHUNK = 2000


class _Interrupted(BaseException):
    """Raised by the alarm inside a runaway input; a BaseException so no `except Exception` swallows it."""


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted


def _run_once(target: Any, data: bytes, path: Path) -> Outcome:
    signal.setitimer(signal.ITIMER_REAL, HARD_LIMIT_SECONDS)
    started = time.perf_counter()
    try:
        return target(data, path)  # type: ignore[no-any-return]
    except _Interrupted:
        return Outcome("hang", time.perf_counter() - started, f"interrupted after {HARD_LIMIT_SECONDS} s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _run_guarded(target: Any, data: bytes, path: Path) -> Outcome:
    """One input; a slow one is run twice more, and is a hang only when it is slow every time.

    On a shared, loaded machine a fast input can be descheduled past the limit; an input that is really slow
    stays slow. One quick rerun shows it was the machine (`slow_under_load`, counted but not a failure).
    """
    outcome = _run_once(target, data, path)
    if outcome.kind != "hang" or outcome.seconds >= HARD_LIMIT_SECONDS:
        return outcome
    for _ in range(2):
        again = _run_once(target, data, path)
        if again.kind != "hang":
            return Outcome(
                "slow_under_load", outcome.seconds, f"{outcome.seconds:.2f} s once, then {again.seconds:.3f} s"
            )
    return outcome


class _Tally:
    def __init__(self) -> None:
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.slowest: dict[str, float] = defaultdict(float)
        self.failures: list[dict[str, Any]] = []

    def add(self, name: str, data: bytes, outcome: Outcome, out: Path) -> None:
        self.counts[name][outcome.kind] += 1
        self.slowest[name] = max(self.slowest[name], outcome.seconds)
        if outcome.failed and outcome.kind != "slow_under_load" and len(self.failures) < 200:
            file = out / f"{name.replace(':', '_')}-{os.getpid()}-{time.monotonic_ns()}.bin"
            file.write_bytes(data)
            self.failures.append({"target": name, "kind": outcome.kind, "detail": outcome.detail, "input": str(file)})

    def result(self) -> dict[str, Any]:
        return {
            "counts": {k: dict(v) for k, v in self.counts.items()},
            "slowest": dict(self.slowest),
            "failures": self.failures,
        }


def _mutation_chunk(job: tuple[str, int, int, str]) -> dict[str, Any]:
    name, count, seed, out = job
    signal.signal(signal.SIGALRM, _alarm)
    found = targets()
    pool = seeds()
    mine = seeds_by_target(pool)[name]
    rng = random.Random(seed)
    tally = _Tally()
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        path = Path(tmp) / "input"
        for _ in range(count):
            base = rng.choice(mine) if rng.random() < 0.85 else rng.choice(pool)
            data = mutate(base, rng, pool)
            tally.add(name, data, _run_guarded(found[name], data, path), Path(out))
    return tally.result()


def _hypothesis_chunk(job: tuple[str, int, int, str]) -> dict[str, Any]:
    from hypothesis import HealthCheck, given, seed, settings

    sys.path.insert(0, str(ROOT / "tests" / "fuzzing"))
    from tests.fuzzing.test_fuzz_readers import _strategy

    name, count, number, out = job
    signal.signal(signal.SIGALRM, _alarm)
    found = targets()
    tally = _Tally()
    with tempfile.TemporaryDirectory(dir=_scratch()) as tmp:
        path = Path(tmp) / "input"

        @seed(number)
        @settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(data=_strategy(name))
        def run(data: bytes) -> None:
            tally.add(name, data, _run_guarded(found[name], data, path), Path(out))

        run()
    return tally.result()


def _scratch() -> str | None:
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _merge(total: _Tally, part: dict[str, Any]) -> None:
    for name, kinds in part["counts"].items():
        total.counts[name].update(kinds)
    for name, seconds in part["slowest"].items():
        total.slowest[name] = max(total.slowest[name], seconds)
    total.failures.extend(part["failures"])


def _jobs(names: list[str], total: int, seed: int, out: Path) -> list[tuple[str, int, int, str]]:
    jobs = []
    per = total // len(names)
    for i, name in enumerate(names):
        left = per + (1 if i < total % len(names) else 0)
        part = 0
        while left > 0:
            n = min(CHUNK, left)
            jobs.append((name, n, seed * 1_000_003 + i * 10_007 + part, str(out)))
            left -= n
            part += 1
    return jobs


def part_count(part: dict[str, Any]) -> int:
    return sum(sum(v.values()) for v in part["counts"].values())


def _run_phase(label: str, fn: Any, jobs: list[Any], workers: int, tally: _Tally, out: Path) -> float:
    started = time.perf_counter()
    done = 0
    want = sum(j[1] for j in jobs)
    with multiprocessing.get_context("fork").Pool(workers, maxtasksperchild=20) as pool:
        for part in pool.imap_unordered(fn, jobs):
            _merge(tally, part)
            done += part_count(part)
            (out / "partial.json").write_text(json.dumps(tally.result() | {"phase": label, "done": done}))
            if done * 20 // want != (done - part_count(part)) * 20 // want:
                print(f"{label}: {done:,}/{want:,} inputs, {len(tally.failures)} failures", file=sys.stderr, flush=True)
    return time.perf_counter() - started


# --- atheris: one coverage-guided child per target --------------------------------------------------------


def _atheris_child(name: str, runs: int, report: Path, corpus: Path) -> None:
    import atheris

    with atheris.instrument_imports(include=["incidentlens"]):
        from tests.fuzzing import targets as harness

    target = harness.targets()[name]
    signal.signal(signal.SIGALRM, _alarm)
    tally = _Tally()
    scratch = Path(tempfile.mkdtemp(dir=_scratch()))
    path = scratch / "input"
    seen = 0

    def flush() -> None:
        report.write_text(json.dumps(tally.result()))

    def one(data: bytes) -> None:
        nonlocal seen
        tally.add(name, data, _run_guarded(target, data, path), report.parent)
        seen += 1
        if seen % 1000 == 0:
            flush()
        if seen >= runs:
            flush()
            shutil.rmtree(scratch, ignore_errors=True)
            os._exit(0)

    atheris.Setup(
        [sys.argv[0], "-max_len=65536", f"-runs={runs * 2}", "-timeout=30", "-rss_limit_mb=3072", str(corpus)], one
    )
    atheris.Fuzz()


def _atheris_phase(names: list[str], per_target: int, workers: int, out: Path, tally: _Tally) -> float:
    started = time.perf_counter()
    pending = list(names)
    running: list[tuple[subprocess.Popen[bytes], Path]] = []
    mine = seeds_by_target(seeds())
    while pending or running:
        while pending and len(running) < workers:
            name = pending.pop(0)
            corpus = Path(tempfile.mkdtemp(prefix="corpus-", dir=out))
            for i, data in enumerate(mine[name][:40]):
                (corpus / f"seed{i}").write_bytes(data[:65536])
            report = out / f"atheris-{name.replace(':', '_')}.json"
            cmd = [
                sys.executable,
                __file__,
                "--atheris-child",
                name,
                "--runs",
                str(per_target),
                "--report",
                str(report),
                "--corpus",
                str(corpus),
            ]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
            running.append((proc, report))
        time.sleep(0.5)
        for proc, report in list(running):
            if proc.poll() is None:
                continue
            running.remove((proc, report))
            if report.exists():
                _merge(tally, json.loads(report.read_text()))
            if proc.returncode != 0:
                tally.failures.append(
                    {
                        "target": report.stem,
                        "kind": "crash",
                        "detail": f"atheris child exited {proc.returncode}",
                        "input": str(out),
                    }
                )
            print(
                f"atheris: {len(names) - len(pending) - len(running)}/{len(names)} targets", file=sys.stderr, flush=True
            )
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="mutated inputs in total")
    parser.add_argument("--hypothesis", type=int, default=60_000, help="Hypothesis-generated inputs in total")
    parser.add_argument("--atheris", type=int, default=0, help="atheris inputs per target (needs the fuzz extra)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", help="comma-separated target names")
    parser.add_argument("--out", type=Path, help="folder for failing inputs and the JSON summary")
    parser.add_argument("--atheris-child", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--corpus", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.atheris_child:
        _atheris_child(args.atheris_child, args.runs, args.report, args.corpus)
        return 0
    out = args.out or Path(tempfile.mkdtemp(prefix="fuzz-readers-"))
    out.mkdir(parents=True, exist_ok=True)
    names = sorted(targets())
    if args.only:
        names = [n for n in names if n in set(args.only.split(","))]
    tally = _Tally()
    seconds: dict[str, float] = {}
    if args.inputs:
        seconds["mutation"] = _run_phase(
            "mutation", _mutation_chunk, _jobs(names, args.inputs, args.seed, out), args.workers, tally, out
        )
    if args.hypothesis:
        seconds["hypothesis"] = _run_phase(
            "hypothesis", _hypothesis_chunk, _jobs(names, args.hypothesis, args.seed, out), args.workers, tally, out
        )
    if args.atheris:
        try:
            import atheris  # noqa: F401
        except ImportError:
            print("atheris is not installed: pip install 'incidentlens[fuzz]'; atheris phase skipped", file=sys.stderr)
        else:
            seconds["atheris"] = _atheris_phase(names, args.atheris, args.workers, out, tally)
    _print(tally, seconds, out)
    return 1 if tally.failures else 0


def _print(tally: _Tally, seconds: dict[str, float], out: Path) -> None:
    total = Counter[str]()
    print(f"{'target':24} {'inputs':>10} {'ok':>9} {'error':>9} {'failed':>7} {'reran':>6} {'slowest s':>10}")
    for name in sorted(tally.counts):
        kinds = tally.counts[name]
        total.update(kinds)
        failed = sum(n for k, n in kinds.items() if k not in _CLEAN)
        print(
            f"{name:24} {sum(kinds.values()):>10,} {kinds['ok']:>9,} {kinds['error']:>9,} {failed:>7,}"
            f" {kinds['slow_under_load']:>6,}"
            f" {tally.slowest[name]:>10.3f}"
        )
    failed = sum(n for k, n in total.items() if k not in _CLEAN)
    print(
        f"{'total':24} {sum(total.values()):>10,} {total['ok']:>9,} {total['error']:>9,} {failed:>7,}"
        f" {total['slow_under_load']:>6,}"
    )
    print("reran: slower than the hang limit once, then fast on a rerun (the machine was busy), not a failure")
    print("phases: " + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + f"; hang limit {HANG_SECONDS} s")
    for failure in tally.failures[:30]:
        print(f"FAILED {failure['target']} {failure['kind']}: {failure['detail'][:200]} ({failure['input']})")
    (out / "summary.json").write_text(json.dumps(tally.result() | {"seconds": seconds}, indent=1))
    print(f"summary: {out / 'summary.json'}")


if __name__ == "__main__":
    raise SystemExit(main())
