"""What makes two metric points one service-level series, shared by every engine that answers the queries.

A deploy or restart renames pods and changes version labels, so those labels name one process, not the series:
they are dropped before grouping and replicas of one service share one series (their mean); the deploy-aware
analysis (`analyze/deploy_pods.py`) compares the versions apart. A pod that replaced or joined others of its
service spends its first minute starting (a CPU burst, memory warming up): that minute is no load.
"""

from __future__ import annotations

INSTANCE_LABELS = (
    "pod",
    "instance",
    "pod_name",
    "container_id",
    "pod_ip",
    "host",
    "hostname",
    "uid",
    "id",
    "node",
    "version",
    "destination_version",
    "source_version",
    "app_kubernetes_io_version",
)
# Metric names whose first minute of a starting pod is left out (a regex, case-insensitive).
STARTUP_NAMES = "(?i)cpu|mem|working_set|rss|heap"
STARTUP_NS = 60 * 1_000_000_000
# A pod is a replacement when another pod of its service reported the same metric this long before it began.
REPLACED_WITHIN_NS = 2 * 60 * 1_000_000_000
# A series with one of these labels may be a call edge: the callee's label in Istio, Linkerd and the OTel
# servicegraph connector (`analyze/call_edges.py` decides which caller/callee pairs).
EDGE_CALLEE_LABELS = (
    "destination_workload",
    "destination_app",
    "destination_canonical_service",
    "dst_deployment",
    "server",
)
