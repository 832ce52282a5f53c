"""Throughput of our template miner against drain3 0.9.11 on the same mixed stream, plus our peak memory.

The stream interleaves the raw lines of every `loghub-2k/*/NAME.log` and `loghub-full/*.log` (round robin,
one line from each source in turn) and repeats that mix until it has `--lines` lines (default 1,000,000).
Both miners get the same raw lines in one run: drain3 with the masking list, `sim_th`, `depth`,
`max_children`, `max_clusters` and `extra_delimiters` of its `examples/drain3.ini` (profiling off), ours with
defaults through `TemplateMiner.add_lines` in batches. A cold pass (every line of the mix once, no repeats)
is measured too, so the effect of repeated lines is visible. Peak memory is measured in a child process
that mines a `--peak-lines` stream (default 10,000,000) in batches and reports its maximum RSS.

drain3 is a benchmark baseline only, not a dependency of IncidentLens:
    .venv/bin/pip install drain3==0.9.11

A junk pass (random tokens, every line new) checks that the cost of a new line stays bounded. With
`--before-src DIR` (the `src` folder of an older checkout) the same runs are timed on that code in a child
process and printed side by side (the versions alternate, `--repeat` runs each, the best run
is kept). drain3 is skipped with a note when it is not installed.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_logparse_speed.py [--data ../shared/data]
     [--before-src /path/to/old/src] [--no-drain3]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import os
import platform
import random
import resource
import string
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from incidentlens.analyze.templates import TemplateMiner

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BATCH = 100_000

# drain3 0.9.11 examples/drain3.ini, [MASKING] section.
DRAIN3_EXAMPLE_MASKING = [
    (r"((?<=[^A-Za-z0-9])|^)(([0-9a-f]{2,}:){3,}([0-9a-f]{2,}))((?=[^A-Za-z0-9])|$)", "ID"),
    (r"((?<=[^A-Za-z0-9])|^)(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})((?=[^A-Za-z0-9])|$)", "IP"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9a-f]{6,} ?){3,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)([0-9A-F]{4} ?){4,}((?=[^A-Za-z0-9])|$)", "SEQ"),
    (r"((?<=[^A-Za-z0-9])|^)(0x[a-f0-9A-F]+)((?=[^A-Za-z0-9])|$)", "HEX"),
    (r"((?<=[^A-Za-z0-9])|^)([\-\+]?\d+)((?=[^A-Za-z0-9])|$)", "NUM"),
    (r"(?<=executed cmd )(\".+?\")", "CMD"),
]


def read_sources(data: Path) -> list[list[str]]:
    """Raw lines of every 2k sample and every full log (CRLF stripped, empty lines dropped)."""
    files = sorted((data / "loghub-2k").glob("*/*.log")) + sorted((data / "loghub-full").glob("*.log"))
    if not files:
        sys.exit(f"no logs under {data}/loghub-2k or {data}/loghub-full (pass --data)")
    sources = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        sources.append([line for line in text.splitlines() if line.strip()])
    return sources


def interleave(sources: list[list[str]]) -> list[str]:
    """One line from each source in turn until all are used up."""
    mixed: list[str] = []
    for row in itertools.zip_longest(*sources):
        mixed.extend(line for line in row if line is not None)
    return mixed


def stream(mix: list[str], total: int) -> Iterator[list[str]]:
    """`total` lines of the repeated mix, in batches of `BATCH`."""
    cycle = itertools.cycle(mix)
    left = total
    while left > 0:
        n = min(BATCH, left)
        yield list(itertools.islice(cycle, n))
        left -= n


def run_ours(mix: list[str], total: int) -> tuple[float, int]:
    miner = TemplateMiner()
    started = time.perf_counter()
    for batch in stream(mix, total):
        miner.add_lines(batch)
    return time.perf_counter() - started, len(miner.templates())


def junk_lines(total: int, seed: int = 7) -> list[str]:
    """Random lines of random words and numbers: nothing repeats, nothing should match."""
    rng = random.Random(seed)
    letters = string.ascii_letters + string.digits + "_-./:"
    return [
        " ".join("".join(rng.choice(letters) for _ in range(rng.randint(1, 12))) for _ in range(rng.randint(3, 12)))
        for _ in range(total)
    ]


def run_drain3(mix: list[str], total: int) -> tuple[float, int]:
    try:
        from drain3 import TemplateMiner as Drain3Miner
        from drain3.masking import MaskingInstruction
        from drain3.template_miner_config import TemplateMinerConfig
    except ImportError:
        sys.exit("drain3 is not installed (benchmark baseline only): .venv/bin/pip install drain3==0.9.11")
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(p, name) for p, name in DRAIN3_EXAMPLE_MASKING]
    config.mask_prefix, config.mask_suffix = "<:", ":>"
    config.drain_sim_th, config.drain_depth, config.drain_max_children = 0.4, 4, 100
    config.drain_max_clusters = 1024
    config.drain_extra_delimiters = ["_"]
    config.profiling_enabled = False
    config.snapshot_interval_minutes = 0
    miner = Drain3Miner(config=config)
    add = miner.add_log_message
    started = time.perf_counter()
    for batch in stream(mix, total):
        for line in batch:
            add(line)
    return time.perf_counter() - started, len(miner.drain.clusters)


def peak_child(data: Path, total: int) -> None:
    """Child mode: mine `total` lines and print the peak RSS (MiB) as JSON."""
    mix = interleave(read_sources(data))
    seconds, templates = run_ours(mix, total)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"lines": total, "seconds": seconds, "templates": templates, "peak_rss_mib": peak_mib}))


def rates_child(data: Path, total: int, junk: int) -> None:
    """Child mode: lines/s of this code on the cold, stream and junk runs, as JSON."""
    mix = interleave(read_sources(data))
    rows = {}
    for label, lines, n in (("cold", mix, len(mix)), ("stream", mix, total), ("junk", junk_lines(junk), junk)):
        seconds, templates = run_ours(lines, n)
        rows[label] = {"rate": n / seconds, "templates": templates}
    print(json.dumps(rows))


def _child(args: argparse.Namespace, src: str) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": src}
    command = [sys.executable, __file__, "--rates-child", "--data", str(args.data), "--lines", str(args.lines)]
    child = subprocess.run([*command, "--junk", str(args.junk)], capture_output=True, text=True, check=False, env=env)
    if child.returncode != 0:
        sys.exit(f"timing run on {src} failed: {child.stderr.strip()}")
    result: dict[str, dict[str, float]] = json.loads(child.stdout)
    return result


def _best(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {label: max((run[label] for run in runs), key=lambda row: row["rate"]) for label in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--junk", type=int, default=50_000, help="lines of random junk for the bounded-cost run")
    parser.add_argument("--peak-lines", type=int, default=10_000_000)
    parser.add_argument("--before-src", help="src folder of an older checkout, timed in the same run")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per code version (best kept)")
    parser.add_argument("--no-drain3", action="store_true", help="skip the drain3 baseline")
    parser.add_argument("--peak-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--rates-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.peak_child:
        peak_child(args.data, args.peak_lines)
        return
    if args.rates_child:
        rates_child(args.data, args.lines, args.junk)
        return
    mix = interleave(read_sources(args.data))
    print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}")
    print(f"stream: {len(mix):,} distinct source lines interleaved, repeated to {args.lines:,} lines")
    here = str(Path(__file__).resolve().parents[1] / "src")
    # Alternate the two code versions and keep each one's best run, so a busy machine favours neither.
    nows: list[dict[str, dict[str, float]]] = []
    befores: list[dict[str, dict[str, float]]] = []
    for _ in range(args.repeat):
        nows.append(_child(args, here))
        if args.before_src:
            befores.append(_child(args, args.before_src))
    now = _best(nows)
    before = _best(befores) if befores else None
    drain3 = not args.no_drain3 and importlib.util.find_spec("drain3") is not None
    if not drain3:
        print("drain3: skipped (not installed or --no-drain3); pip install drain3==0.9.11 to compare")
    heads = f"{'ours lines/s':>13} {'templates':>9} {'before lines/s':>15} {'templates':>9} {'drain3 lines/s':>15}"
    print(f"{'run':22} {heads}")
    for label, total in (("cold", len(mix)), ("stream", args.lines), ("junk", args.junk)):
        old = f"{before[label]['rate']:15,.0f} {before[label]['templates']:9.0f}" if before else f"{'-':>15} {'-':>9}"
        if drain3 and label != "junk":
            drain_s, _ = run_drain3(mix, total)
            theirs = f"{total / drain_s:15,.0f}"
        else:
            theirs = f"{'-':>15}"
        name = f"{label} ({total:,})"
        print(f"{name:22} {now[label]['rate']:13,.0f} {now[label]['templates']:9.0f} {old} {theirs}")
    child = subprocess.run(
        [sys.executable, __file__, "--peak-child", "--data", str(args.data), "--peak-lines", str(args.peak_lines)],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        sys.exit(f"peak-memory run failed: {child.stderr.strip()}")
    peak = json.loads(child.stdout)
    print(
        f"peak memory, ours on {peak['lines']:,} lines: {peak['peak_rss_mib']:.0f} MiB RSS "
        f"({peak['lines'] / peak['seconds']:,.0f} lines/s, {peak['templates']} templates)"
    )


if __name__ == "__main__":
    main()
