"""Code regions: the lines between two located statements (two log calls, or a log call and a frame).

When the last good log line and the failing one (or the throwing frame) sit in the same function, the
defect is most likely between them: the region is that function's lines from the first to the second.
Pure code over a parsed `SourceFile`.
"""

from __future__ import annotations

from incidentlens.locate.codemodel import Hit, SourceFile
from incidentlens.model.records import CodeLocation


def region_between(source: SourceFile, first: int, second: int, *, why: str = "") -> Hit:
    """The lines from `first` to `second` of `source`, named by their enclosing function.

    In one function: exactly those lines (confidence 0.9). In different functions: from `first` to the
    end of its function and the start of the other's up to `second` is too loose to point at, so the
    region is the function holding `second` (where the failure surfaced), up to `second` (0.6).
    """
    lo, hi = sorted((first, second))
    a, b = source.enclosing(lo), source.enclosing(hi)
    if a is not None and a == b:
        reason = f"lines {lo}-{hi} lie between the two statements inside {a.name}"
        return Hit(source.path, lo, 0.9, _join(why, reason), hi, a.name)
    if b is not None:
        reason = f"the statements are in different functions; {b.name} holds line {hi}, from its start"
        return Hit(source.path, b.start, 0.6, _join(why, reason), hi, b.name)
    return Hit(source.path, lo, 0.5, _join(why, f"lines {lo}-{hi} (no enclosing function found)"), hi, "")


def region_of_locations(source: SourceFile, first: CodeLocation, second: CodeLocation) -> Hit | None:
    """The region between two locations in the same file, or None when they are in different files."""
    if first.path != second.path or source.path != first.path or not first.line or not second.line:
        return None
    start = min(first.line, second.line)
    end = max(first.end_line or first.line, second.end_line or second.line)
    return region_between(source, start, end, why=f"between {first.path}:{first.line} and :{second.line}")


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
