"""Row caps: a source takes rows from a budget and reports what it had to leave out."""

from __future__ import annotations

from incidentlens.sources.protocol import SourceReport


class RowBudget:
    """At most `limit` rows for one source load; `take` says how many of `wanted` may still be kept."""

    def __init__(self, limit: int, report: SourceReport) -> None:
        self.limit = limit
        self.used = 0
        self.report = report
        self.dropped = 0

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    def take(self, wanted: int) -> int:
        allowed = max(0, min(wanted, self.limit - self.used))
        self.used += allowed
        self.dropped += wanted - allowed
        return allowed

    def close(self, what: str = "rows") -> None:
        """Record the truncation in the report, once, when anything was left out."""
        if self.dropped:
            self.report.truncated.append(
                f"{what} capped at {self.limit} (max_rows); {self.dropped} more were not loaded"
            )
