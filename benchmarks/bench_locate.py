"""Benchmark: locate 100 log templates and 100 stack frames in a generated 10k-file / 1M-line repository.

    PYTHONPATH=src python benchmarks/bench_locate.py [--files 10000] [--lines 100] [--keep DIR]

The repository holds synthetic Java and Python services (plus a little Go) with distinct log messages;
ground truth is known, so the run also reports how many were located on the right line. Target: < 5 s.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from incidentlens.locate.locatecode import QueryKind, locate_code
from incidentlens.model.stack import Frame

WORDS = [
    "account",
    "order",
    "invoice",
    "ledger",
    "payment",
    "refund",
    "cart",
    "basket",
    "stock",
    "price",
    "quote",
    "shipment",
    "parcel",
    "route",
    "carrier",
    "token",
    "session",
    "profile",
    "address",
    "coupon",
    "voucher",
    "catalog",
    "review",
    "rating",
    "search",
    "index",
    "cache",
    "queue",
    "batch",
    "report",
    "export",
    "import",
    "mailer",
    "notice",
    "channel",
    "tenant",
    "region",
    "quota",
    "limit",
    "budget",
]
VERBS = [
    "load",
    "save",
    "fetch",
    "update",
    "validate",
    "compute",
    "resolve",
    "publish",
    "render",
    "sync",
    "merge",
    "apply",
]


@dataclass(frozen=True, slots=True)
class Truth:
    path: str
    line: int


def _git(repo: Path, *args: str) -> None:
    env = dict(os.environ, GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.org")
    env.update(GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.org", GIT_CONFIG_NOSYSTEM="1")
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)


def _java_file(pkg: str, cls: str, rng: random.Random, lines: int, uid: int) -> tuple[str, list[tuple[str, int]]]:
    out = [f"package {pkg};", "", "import org.slf4j.Logger;", "", f"public class {cls} {{"]
    out.append(f"  private static final Logger log = LoggerFactory.getLogger({cls}.class);")
    calls: list[tuple[str, int]] = []
    n = 0
    while len(out) < lines - 8:
        verb, noun = rng.choice(VERBS), rng.choice(WORDS)
        out.append(f"  public int {verb}{noun.title()}{n}(String id, int count) {{")
        out.append("    int total = count * 2;")
        msg = f"{cls} {verb} {noun} {uid}-{n} failed for id={{}} count={{}}"
        out.append(f'    log.warn("{msg}", id, count);')
        calls.append((msg.replace("{}", "<*>"), len(out)))
        out.append("    return total + id.length();")
        out.append("  }")
        n += 1
    out.append("}")
    return "\n".join(out) + "\n", calls


def _python_file(mod: str, rng: random.Random, lines: int, uid: int) -> tuple[str, list[tuple[str, int]]]:
    out = ["import logging", "", f'logger = logging.getLogger("{mod}")', ""]
    calls: list[tuple[str, int]] = []
    n = 0
    while len(out) < lines - 6:
        verb, noun = rng.choice(VERBS), rng.choice(WORDS)
        out.append(f"def {verb}_{noun}_{n}(item_id, count):")
        out.append("    total = count * 2")
        msg = f"{mod} could not {verb} {noun} {uid}-{n}: item=%s count=%d"
        out.append(f'    logger.error("{msg}", item_id, count)')
        calls.append((msg.replace("%s", "<*>").replace("%d", "<*>"), len(out)))
        out.append("    return total")
        out.append("")
        n += 1
    return "\n".join(out) + "\n", calls


def generate(root: Path, *, files: int, lines: int, seed: int = 7) -> list[tuple[str, Truth]]:
    """Write and commit the repository; returns (template, where it is logged) for every call."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q")
    truth: list[tuple[str, Truth]] = []
    services = [f"svc{i:02d}" for i in range(20)]
    for i in range(files):
        service = services[i % len(services)]
        if i % 2 == 0:
            cls = f"{rng.choice(WORDS).title()}{rng.choice(VERBS).title()}Handler{i}"
            pkg = f"com.shop.{service}.{rng.choice(WORDS)}"
            rel = f"services/{service}/src/main/java/{pkg.replace('.', '/')}/{cls}.java"
            text, calls = _java_file(pkg, cls, rng, lines, i)
        else:
            mod = f"{rng.choice(WORDS)}_{rng.choice(VERBS)}_{i}"
            rel = f"services/{service}/{service}/{mod}.py"
            text, calls = _python_file(mod, rng, lines, i)
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        truth.extend((template, Truth(rel, line)) for template, line in calls)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "generated services")
    return truth


def _frame(t: Truth) -> Frame:
    if t.path.endswith(".py"):
        return Frame(file=f"/app/{t.path}", line=t.line, function="handler")
    java = t.path.split("/src/main/java/", 1)[1]
    cls = java.removesuffix(".java").replace("/", ".")
    return Frame(file=java.rsplit("/", 1)[1], line=t.line, function="run", module=cls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--lines", type=int, default=100)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--keep", type=Path, default=None, help="generate into (or reuse) this folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp) / "repo"
        started = time.perf_counter()
        truth = generate(root, files=args.files, lines=args.lines)
        listing = subprocess.run(["git", "grep", "-c", "", "HEAD"], cwd=root, capture_output=True, check=True)
        total_lines = sum(int(row.rsplit(b":", 1)[1]) for row in listing.stdout.splitlines())
        print(f"generated {args.files} files, {total_lines} lines in {time.perf_counter() - started:.1f} s")
        rng = random.Random(1)
        sample = rng.sample(truth, args.queries * 2)
        templates, frame_truth = sample[: args.queries], sample[args.queries :]

        started = time.perf_counter()
        found = locate_code(root, templates=[t for t, _ in templates], frames=[_frame(t) for _, t in frame_truth])
        elapsed = time.perf_counter() - started

        template_results = found.of_kind(QueryKind.TEMPLATE)
        hit_templates = sum(
            1
            for q, (_, t) in zip(template_results, templates, strict=True)
            if q.locations and (q.locations[0].path, q.locations[0].line) == (t.path, t.line)
        )
        frame_results = found.of_kind(QueryKind.FRAME)
        hit_frames = sum(
            1
            for q, (_, t) in zip(frame_results, frame_truth, strict=True)
            if q.locations and (q.locations[0].path, q.locations[0].line) == (t.path, t.line)
        )
        print(f"located {len(templates)} templates + {len(frame_truth)} frames in {elapsed:.2f} s (target < 5 s)")
        print(f"on the right line: templates {hit_templates}/{len(templates)}, frames {hit_frames}/{len(frame_truth)}")
        return 0 if elapsed < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
