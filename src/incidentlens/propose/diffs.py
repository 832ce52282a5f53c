"""Unified diffs in the form `git apply` reads, made from before/after texts (difflib, no git)."""

from __future__ import annotations

import difflib


def unified_diff(path: str, before: str, after: str, *, context: int = 3) -> str:
    """A `diff --git` patch turning `before` into `after` for one file; empty when they are equal."""
    if before == after:
        return ""
    body = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
        n=context,
    )
    lines = []
    for line in body:
        lines.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


def files_in_diff(diff: str) -> tuple[str, ...]:
    """Paths a patch changes (from its `+++ b/...` lines), in order."""
    out: list[str] = []
    for line in diff.splitlines():
        if line.startswith("+++ b/"):
            path = line[len("+++ b/") :].strip()
            if path not in out:
                out.append(path)
    return tuple(out)
