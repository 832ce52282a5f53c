"""Small SQL pieces the ClickHouse questions share: window conditions and interpolated quantiles."""

from __future__ import annotations

from incidentlens.model import TimeRange

Q = "quantileExactInclusive"


def windows_sql(baseline: TimeRange, incident: TimeRange, column: str) -> tuple[str, str]:
    """(in the normal period `[start, end)`, in the incident `[start, end]`) as SQL conditions on `column`."""
    base = f"({column} >= {int(baseline.start_ns)} AND {column} < {int(baseline.end_ns)})"
    inc = f"({column} >= {int(incident.start_ns)} AND {column} <= {int(incident.end_ns)})"
    return base, inc


def q_if(level: float, value: str, cond: str) -> str:
    """An interpolated quantile of `value` where `cond` holds, 0 when nothing does."""
    return f"if(countIf({cond}) > 0, {Q}If({level})({value}, {cond}), 0)"
