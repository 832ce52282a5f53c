"""Benchmark: `locate` on a 10k-file repository with vendored assets, this code side by side with another tree.

    PYTHONPATH=src python benchmarks/bench_locate_vendored.py [--baseline /path/to/other/src] [--files 10000]
                                                              [--queries 5] [--timeout 120] [--keep DIR]

The repository holds hand-written Java and JavaScript services plus what real ones check in: a
`node_modules` folder, minified one-line bundles (about 1 MB each, some with long string literals) and a
vendored `static/js/*.min.js`, all repeating the services' log messages. Each query is one `locate` of a log
line, run in a fresh process per code tree (`PYTHONPATH=<src>`), so the two trees never share state; a run
slower than --timeout is reported as "> TIMEOUT". Target: every single `locate` < 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_RUN = """
import json, sys, time
from pathlib import Path
from incidentlens.locate.locatecode import QueryKind, locate_code
started = time.perf_counter()
result = locate_code(Path(sys.argv[1]), log_lines=[sys.argv[2]], use_tree_sitter=False)
(query,) = result.of_kind(QueryKind.LOG_LINE)
top = query.locations[0].path if query.locations else ""
print(json.dumps({"seconds": time.perf_counter() - started, "top": top}))
"""
VERBS = ["charge", "refund", "reserve", "ship", "price", "quote", "index", "export", "notify", "sync"]
NOUNS = ["order", "cart", "invoice", "parcel", "coupon", "ledger", "tenant", "session", "report", "stock"]


def _git(repo: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@x", "GIT_COMMITTER_NAME": "b"}
    env["GIT_COMMITTER_EMAIL"] = "b@x"
    cmd = ["git", "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args]
    subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)


def _word(n: int) -> str:
    """A pronounceable word unique to `n` (no digits: locate treats numbers as values)."""
    out = ""
    for _ in range(3):
        n, k = divmod(n, 105)
        out += "bcdfghjklmnprstvwxz"[k % 19] + "aeiou"[k // 21]
    return out


def _message(i: int) -> str:
    return f"failed to {VERBS[i % 10]} {NOUNS[i // 10 % 10]} {_word(i)} {_word(i * 31 + 7)} for tenant"


def generate(root: Path, *, files: int, seed: int = 11) -> list[tuple[str, str]]:
    """Write and commit the repository; (log line, expected path) per located message."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q")
    truths: list[tuple[str, str]] = []
    vendored = max(50, files // 12)
    for i in range(files - vendored):
        if i % 3:
            path = root / f"services/svc{i % 40}/src/main/java/shop/C{i}.java"
            body = "".join(
                f'    void m{j}(String id) {{\n        log.info("{_message(i * 7 + j)} {{}}", id);\n    }}\n'
                for j in range(6)
            )
            text = f"package shop;\nclass C{i} {{\n{body}}}\n"
        else:
            path = root / f"web/src/m{i}.js"
            text = "".join(
                f'export function f{j}(id) {{\n  console.error("{_message(i * 7 + j)} " + id);\n}}\n' for j in range(6)
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if len(truths) < 400 and i % 3:
            truths.append((f"{_message(i * 7 + 2)} 42", str(path.relative_to(root))))
    # The first 20 messages (the ones queried) are repeated throughout the vendored assets.
    messages = [t[0].rsplit(" ", 1)[0] for t in truths[:20]]
    for k in range(vendored):
        chunk = "".join(
            f'function a{n}(e){{return e.log.error("{rng.choice(messages)} "+e.id),e.x("' + " " * 400 + '")}}'
            for n in range(40)
        )
        if k % 10 == 0:  # a large one-line bundle, as bundlers write them
            chunk = chunk * 40 + 'var s="' + "x" * 200_000 + '";' + chunk * 40
        folder = "web/node_modules" if k % 2 else "web/static/js"
        path = root / folder / (f"pkg{k}/index.js" if k % 2 else f"lib{k}.min.js")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(chunk)
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "services with vendored assets")
    return truths


def run(src: Path, repo: Path, line: str, timeout: float) -> tuple[float | None, str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", _RUN, str(repo), line], env=env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return None, f"> {timeout:g} s (stopped)"
    if done.returncode != 0:
        return None, "failed: " + done.stderr.strip().splitlines()[-1]
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    return float(answer["seconds"]), str(answer["top"]) or f"nothing ({time.perf_counter() - started:.1f} s)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=5, help="at most 20")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--baseline", type=Path, help="another tree's src/ to run side by side")
    parser.add_argument("--keep", type=Path, help="generate the repository here and keep it")
    args = parser.parse_args(argv)
    here = Path(__file__).resolve().parents[1] / "src"
    trees = [("this", here)] + ([("baseline", args.baseline.resolve())] if args.baseline else [])
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.keep or Path(tmp) / "repo"
        started = time.perf_counter()
        truths = generate(repo, files=args.files)
        size = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts)
        print(
            f"repository: {args.files} files, {size / 1e6:.0f} MB, generated in {time.perf_counter() - started:.1f} s"
        )
        picked = random.Random(3).sample(truths[:20], min(args.queries, 20))
        results: dict[str, list[float | None]] = {name: [] for name, _ in trees}
        for line, expected in picked:
            print(f"\nlog line: {line}\n  expected: {expected}")
            for name, src in trees:
                seconds, top = run(src, repo, line, args.timeout)
                results[name].append(seconds)
                shown = f"{seconds:6.2f} s" if seconds is not None else "   --   "
                print(f"  {name:8} {shown}  top: {top}{'' if top == expected else '  (NOT the expected file)'}")
        print("\nsummary (seconds per locate; None = stopped at the timeout)")
        for name, times in results.items():
            done = [t for t in times if t is not None]
            worst = "> timeout" if len(done) < len(times) else f"{max(done):.2f}"
            median = f"{statistics.median(done):.2f}" if done else "--"
            print(f"  {name:8} median {median}  worst {worst}  ({len(done)}/{len(times)} finished)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
