"""The metric families the Prometheus source knows, and the series each one becomes.

A *request family* is one instrumentation's names for the requests a service serves (RED: rate, failure
ratio, latency quantiles from a histogram) or, with a `peer` label, one end of a call between two services
(Istio, Linkerd, the OpenTelemetry/Tempo service graph). A *resource* is one container series (cAdvisor,
kube-state-metrics). Output names follow the demo's metric files (`http_server_requests_per_second`,
`..._error_ratio`, `..._request_duration_seconds_p95`, `container_*`) so the metric analysis reads them the
same way: `server` and `client` in a name tell served latency from the latency of calls made.
"""

from __future__ import annotations

from dataclasses import dataclass

# Labels that name the service on application series, most specific first (Kubernetes scrapes usually add
# `job="kubernetes-pods"`, which names the scrape, not the service, so `job` comes after the app labels).
APP_LABELS = ("service", "service_name", "app_kubernetes_io_name", "app", "job", "container")
CONTAINER_LABELS = ("container",)
# cAdvisor's per-pod sandbox ("POD") and pod-level ("") rows are not a container's own usage.
CONTAINER_MATCHERS = 'container!="", container!="POD"'


@dataclass(frozen=True, slots=True)
class RequestFamily:
    """Requests one service serves (or makes, `side="client"`), as one instrumentation names them."""

    key: str  # short id for notes: "otel-http"
    prefix: str  # output names start with it: f"{prefix}_requests_per_second", ...
    requests: str  # a counter (or a histogram's _count) whose rate is the request rate
    histogram: str = ""  # histogram base name: its `_bucket` series give latency quantiles
    scale: float = 1.0  # the histogram's unit in seconds (0.001 for milliseconds)
    errors: tuple[tuple[str, str], ...] = ()  # (label, regex) selecting failed requests; the first present wins
    failed: str = ""  # or a separate counter of failed requests
    matchers: str = ""  # added to every selector of the family
    service_labels: tuple[str, ...] = APP_LABELS  # the label naming the reporting service: the most common wins
    peer: str = ""  # the label naming the other end of the call (edge families)

    @property
    def markers(self) -> tuple[str, ...]:
        """Series names whose presence discovery looks for (a histogram by its `+Inf` bucket)."""
        return (self.requests, f"{self.histogram}_bucket") if self.histogram else (self.requests,)


@dataclass(frozen=True, slots=True)
class Resource:
    """One container series: a counter becomes its per-second rate, a gauge its average over each step."""

    name: str  # output name
    metric: str
    counter: bool
    denominator: str = ""  # a ratio of two counters' rates (CPU throttling)
    by: tuple[str, ...] = ("namespace", "pod", "container")
    service_labels: tuple[str, ...] = CONTAINER_LABELS
    matchers: str = CONTAINER_MATCHERS

    @property
    def markers(self) -> tuple[str, ...]:
        return (self.metric, self.denominator) if self.denominator else (self.metric,)


_HTTP_5XX = "5.."
REQUEST_FAMILIES: tuple[RequestFamily, ...] = (
    # OpenTelemetry HTTP semantic conventions >= 1.23 through the Prometheus exporter or remote write.
    RequestFamily(
        "otel-http",
        "http_server",
        "http_server_request_duration_seconds_count",
        "http_server_request_duration_seconds",
        errors=(("http_response_status_code", _HTTP_5XX),),
    ),
    # Older OpenTelemetry SDKs: milliseconds and `http_status_code`.
    RequestFamily(
        "otel-http-ms",
        "http_server",
        "http_server_duration_milliseconds_count",
        "http_server_duration_milliseconds",
        scale=0.001,
        errors=(("http_status_code", _HTTP_5XX), ("http_response_status_code", _HTTP_5XX)),
    ),
    # Micrometer (Spring Boot) with percentile histograms enabled; without them only the rate and errors.
    RequestFamily(
        "micrometer-http",
        "http_server",
        "http_server_requests_seconds_count",
        "http_server_requests_seconds",
        errors=(("status", _HTTP_5XX), ("outcome", "SERVER_ERROR")),
    ),
    # The Prometheus client libraries' conventional names (Go, Python, Node middleware).
    RequestFamily(
        "prometheus-http",
        "http_server",
        "http_requests_total",
        "http_request_duration_seconds",
        errors=(("code", _HTTP_5XX), ("status", _HTTP_5XX), ("status_code", _HTTP_5XX)),
    ),
    # go-grpc-prometheus / grpc-java interceptors.
    RequestFamily(
        "grpc",
        "grpc_server",
        "grpc_server_handled_total",
        "grpc_server_handling_seconds",
        errors=(("grpc_code", "Unknown|DeadlineExceeded|Unimplemented|Internal|Unavailable|DataLoss"),),
    ),
    # Span metrics of server spans: the OpenTelemetry Collector's spanmetrics connector and Tempo's generator.
    RequestFamily(
        "otel-spanmetrics",
        "spanmetrics_server",
        "traces_span_metrics_calls_total",
        "traces_span_metrics_duration_milliseconds",
        scale=0.001,
        errors=(("status_code", "STATUS_CODE_ERROR"),),
        matchers='span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"',
        service_labels=("service_name", "service", "job"),
    ),
    RequestFamily(
        "tempo-spanmetrics",
        "spanmetrics_server",
        "traces_spanmetrics_calls_total",
        "traces_spanmetrics_latency",
        errors=(("status_code", "STATUS_CODE_ERROR"),),
        matchers='span_kind=~"SPAN_KIND_SERVER|SPAN_KIND_CONSUMER"',
        service_labels=("service", "service_name", "job"),
    ),
)

EDGE_FAMILIES: tuple[RequestFamily, ...] = (
    # Istio standard metrics: the destination proxy reports what a service served, the source proxy what
    # its callers saw (including the network between them).
    RequestFamily(
        "istio-server",
        "istio_server",
        "istio_requests_total",
        "istio_request_duration_milliseconds",
        scale=0.001,
        errors=(("response_code", _HTTP_5XX),),
        matchers='reporter="destination"',
        service_labels=("destination_workload", "destination_app", "destination_service_name"),
        peer="source_workload",
    ),
    RequestFamily(
        "istio-client",
        "istio_client",
        "istio_requests_total",
        "istio_request_duration_milliseconds",
        scale=0.001,
        errors=(("response_code", _HTTP_5XX),),
        matchers='reporter="source"',
        service_labels=("source_workload", "source_app"),
        peer="destination_workload",
    ),
    # Linkerd proxies: inbound is what a workload served, outbound its calls (to `dst_*`).
    RequestFamily(
        "linkerd-server",
        "linkerd_server",
        "response_total",
        "response_latency_ms",
        scale=0.001,
        errors=(("classification", "failure"),),
        matchers='direction="inbound"',
        service_labels=("deployment", "statefulset", "daemonset"),
    ),
    RequestFamily(
        "linkerd-client",
        "linkerd_client",
        "response_total",
        "response_latency_ms",
        scale=0.001,
        errors=(("classification", "failure"),),
        matchers='direction="outbound"',
        service_labels=("deployment", "statefulset", "daemonset"),
        peer="dst_deployment",
    ),
    # The service graph built from traces (OpenTelemetry Collector servicegraph connector, Tempo).
    RequestFamily(
        "servicegraph-server",
        "servicegraph_server",
        "traces_service_graph_request_total",
        "traces_service_graph_request_server_seconds",
        failed="traces_service_graph_request_failed_total",
        service_labels=("server",),
        peer="client",
    ),
    RequestFamily(
        "servicegraph-client",
        "servicegraph_client",
        "traces_service_graph_request_total",
        "traces_service_graph_request_client_seconds",
        failed="traces_service_graph_request_failed_total",
        service_labels=("client",),
        peer="server",
    ),
)

RESOURCES: tuple[Resource, ...] = (
    Resource("container_cpu_usage_cores", "container_cpu_usage_seconds_total", counter=True),
    Resource(
        "container_cpu_throttled_ratio",
        "container_cpu_cfs_throttled_periods_total",
        counter=True,
        denominator="container_cpu_cfs_periods_total",
    ),
    Resource("container_memory_working_set_bytes", "container_memory_working_set_bytes", counter=False),
    Resource("container_restarts_per_second", "kube_pod_container_status_restarts_total", counter=True, matchers=""),
)

# Series that are not a service's own measurements, or are parts of families handled above.
SKIPPED_SUFFIXES = ("_bucket", "_count", "_sum", "_created", "_info")
SKIPPED_NAMES = frozenset({"up", "ALERTS", "ALERTS_FOR_STATE", "target_info"})
SKIPPED_PREFIXES = ("scrape_",)


def known_names() -> frozenset[str]:
    """Every series name a family or resource reads, so the extra-metric pass does not read it again."""
    names: set[str] = set()
    for family in (*REQUEST_FAMILIES, *EDGE_FAMILIES):
        names.update((family.requests, family.failed) if family.failed else (family.requests,))
    for resource in RESOURCES:
        names.update(resource.markers)
    return frozenset(names)


def is_extra_candidate(name: str, known: frozenset[str]) -> bool:
    return not (
        name in known or name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES) or name.startswith(SKIPPED_PREFIXES)
    )
