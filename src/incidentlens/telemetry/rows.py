"""What the telemetry questions answer: small typed rows, the same whichever backend computed them.

Analyses import these (and `protocol.TelemetryQueries`), never a database module.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Bounds:
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True)
class ErrorOrigin:
    """Error spans with no erroring child, grouped: where failures start inside traces."""

    service: str
    operation: str
    kind: str
    peer: str
    has_children: bool
    count: int
    baseline_count: int
    message: str
    exception_type: str
    example_trace: str
    first_ns: int
    # Incident failures with an exception type this place never failed with in the normal period.
    new_kind_count: int = 0


@dataclass(frozen=True, slots=True)
class SelfTimeShift:
    service: str
    operation: str
    kind: str
    peer: str
    has_server_child: bool
    baseline_p50_ms: float
    baseline_p90_ms: float
    incident_p50_ms: float
    incident_p90_ms: float
    baseline_count: int
    incident_count: int
    example_trace: str


@dataclass(frozen=True, slots=True)
class ServiceVolume:
    service: str
    baseline_spans: int
    incident_spans: int
    baseline_logs: int
    incident_logs: int
    baseline_metrics: int
    incident_metrics: int
    baseline_calls_in: int
    incident_calls_in: int
    baseline_traces: int = 0  # distinct traces among its spans and logs: the requests, not their parts
    incident_traces: int = 0


@dataclass(frozen=True, slots=True)
class MetricShift:
    service: str
    name: str
    labels: str
    baseline_median: float
    baseline_mad: float
    baseline_points: int
    incident_median: float
    incident_extreme: float
    incident_points: int
    first_ns: int
    values: tuple[float, ...]
    baseline_min: float = float("-inf")
    baseline_max: float = float("inf")


@dataclass(frozen=True, slots=True)
class Edge:
    caller: str
    callee: str
    calls: int
    errors: int
    via: str


@dataclass(frozen=True, slots=True)
class EntryStats:
    error_rate_before: float
    error_rate_during: float
    p95_before_ms: float
    p95_during_ms: float


@dataclass(frozen=True, slots=True)
class FrameGroup:
    frames: str
    exception_type: str
    count: int
    example: str


@dataclass(frozen=True, slots=True)
class LoggerCount:
    """How often one log statement (logger or class plus line) wrote in each window."""

    logger: str
    level: str
    baseline_count: int
    incident_count: int
    example: str


@dataclass(frozen=True, slots=True)
class EdgeGap:
    """Time a caller's span spends around a child span in another service (network and queueing between them)."""

    caller: str
    callee: str
    baseline_p50_ms: float
    baseline_p90_ms: float
    incident_p50_ms: float
    baseline_count: int
    incident_count: int
    example_trace: str


@dataclass(frozen=True, slots=True)
class LogMessageGroup:
    """Lines of one service and level with the same message, counted per window.

    `*_traces` count distinct trace ids per message. The example is one real line (its body, `file:line`
    and trace id, empty when it has none): the first in the incident window when the message occurs there,
    else the first in the normal period. `first_ns` is 0 when the message is absent from the incident.
    `folded`: the row stands for a whole message shape of many id-carrying messages (`logqueries`), so its
    message is one example and its lines' parameters are unknown.
    """

    service: str
    level: str
    message: str
    baseline_count: int
    incident_count: int
    baseline_traces: int
    incident_traces: int
    exception_type: str
    example: str
    example_source: str
    example_trace: str
    first_ns: int
    folded: bool = False


@dataclass(frozen=True, slots=True)
class TraceSpanRow:
    """One span of a trace, as the exemplar waterfall needs it."""

    span_id: str
    parent_span_id: str
    service: str
    name: str
    start_ns: int
    end_ns: int
    error: bool


@dataclass(frozen=True, slots=True)
class ServiceBin:
    """One service in one time bin: requests it served, spans of it that failed, its served requests' p90."""

    service: str
    start_ns: int
    served: int  # entry spans and server/consumer spans of the service
    errors: int  # its spans with an error status
    p90_ms: float  # over its served spans; 0 when it served none


@dataclass(frozen=True, slots=True)
class MetricPoints:
    """One series (a service's metric, its replicas averaged) as time-ordered points."""

    service: str
    name: str
    times: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class LabelledSeries:
    """One series with its own label set: each replica (pod) and each call edge apart, nothing averaged."""

    service: str
    name: str
    labels: tuple[tuple[str, str], ...]
    times: tuple[int, ...]
    values: tuple[float, ...]

    def label(self, *names: str) -> str:
        """The first non-empty value among `names`, else empty."""
        found = dict(self.labels)
        return next((found[n] for n in names if found.get(n)), "")


@dataclass(frozen=True, slots=True)
class EdgeMetricSeries:
    """One call-edge series (its labels, instance labels removed, as a JSON object; replicas averaged) as
    time-ordered points."""

    name: str
    labels: str  # JSON object
    times: tuple[int, ...]
    values: tuple[float, ...]
