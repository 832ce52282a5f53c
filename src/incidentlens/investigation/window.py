"""The window comes first: what live sources fetch, decided before anything is queried.

From the user's `--since/--until/--onset`, else from the first firing alert (a normal period before it,
the incident up to its end or now, at most `incident_limit` long). Files need none: their data gives it.
"""

from __future__ import annotations

from incidentlens.analyze.windows import DEFAULT_SEARCH_BEFORE_ALERT_NS
from incidentlens.errors import InputError
from incidentlens.investigation.request import InvestigationRequest
from incidentlens.model import TimeRange
from incidentlens.sources.protocol import SourceQuery


def fetch_window(request: InvestigationRequest, *, alert_ns: int | None, alert_end_ns: int, now_ns: int) -> SourceQuery:
    """The period live sources load, and its incident part; an InputError when nothing tells it."""
    given = request.window
    lead = DEFAULT_SEARCH_BEFORE_ALERT_NS + request.normal_period_ns
    anchor = given.onset_ns if given.onset_ns is not None else alert_ns
    if given.since_ns is not None:
        start = given.since_ns
    elif anchor is not None:
        start = anchor - lead
    elif given.until_ns is not None:
        start = given.until_ns - lead - request.incident_limit_ns
    else:
        raise InputError("a live source needs a time window: give an alert (--alert FILE), --since/--until, or --onset")
    if given.until_ns is not None:
        end = given.until_ns
    elif anchor is not None:
        end = alert_end_ns if alert_end_ns > anchor else min(now_ns, anchor + request.incident_limit_ns)
    else:
        end = now_ns
    if end <= start:
        raise InputError(f"the time window is empty: it ends ({end}) before it starts ({start})")
    if given.onset_ns is not None:
        incident_start = given.onset_ns
    elif alert_ns is not None:
        incident_start = max(start, alert_ns - DEFAULT_SEARCH_BEFORE_ALERT_NS)
    else:
        incident_start = start + (end - start) // 3
    incident_start = min(max(incident_start, start), end)
    return SourceQuery(TimeRange(start, end), TimeRange(incident_start, end), request.services)
