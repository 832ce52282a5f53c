"""Enumerations shared by every stage: kinds and states, never magic strings."""

from __future__ import annotations

from enum import StrEnum


class Signal(StrEnum):
    LOGS = "logs"
    TRACES = "traces"
    METRICS = "metrics"
    ALERTS = "alerts"
    CHANGES = "changes"


class ChangeKind(StrEnum):
    DEPLOY = "deploy"
    CONFIG = "config"
    FEATURE_FLAG = "feature_flag"


class AnalyzerKind(StrEnum):
    """Which analyser produced a finding; its weight and role live in `diagnose/analyzers.py`."""

    TRACE_ERRORS = "trace_errors"
    DEPENDENCY_ERRORS = "dependency_errors"
    TRACE_LATENCY = "trace_latency"
    EDGE_LATENCY = "edge_latency"
    CALL_EDGES = "call_edges"
    SILENCE = "silence"
    CODE_PATH = "code_path"
    LOG_TEMPLATES = "log_templates"
    METRIC_RESOURCE = "metric_resource"
    METRIC_LOCAL_LATENCY = "metric_local_latency"
    METRIC_SYMPTOM = "metric_symptom"
    METRIC_WEAK = "metric_weak"
    CHANGES = "changes"
    DEPLOY_PODS = "deploy_pods"


class EvidenceKind(StrEnum):
    LOG_TEMPLATE = "log_template"
    LOG_BURST = "log_burst"
    STACK_TRACE = "stack_trace"
    TRACE_ERROR = "trace_error"
    TRACE_LATENCY = "trace_latency"
    MISSING_CALLS = "missing_calls"
    METRIC_ANOMALY = "metric_anomaly"
    CHANGE = "change"
    ALERT = "alert"
    CODE_LOCATION = "code_location"
    TOPOLOGY = "topology"


class FaultKind(StrEnum):
    """What kind of cause a hypothesis claims."""

    CODE = "code"
    CPU = "cpu"
    MEMORY = "memory"
    NETWORK = "network"
    DISK = "disk"
    DEPENDENCY = "dependency"
    CONFIG = "config"
    SATURATION = "saturation"
    UNKNOWN = "unknown"


class HypothesisStatus(StrEnum):
    PROPOSED = "proposed"
    SUPPORTED = "supported"
    REFUTED = "refuted"
    CONFIRMED = "confirmed"


class IncidentStatus(StrEnum):
    DETECTED = "detected"
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    UNDERSTOOD = "understood"
    OWNED = "owned"
    MITIGATED = "mitigated"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    WARNING = "warning"
    INFO = "info"
    UNKNOWN = "unknown"


class FixKind(StrEnum):
    REVERT = "revert"
    CONFIG_ROLLBACK = "config_rollback"
    CODE_PATCH = "code_patch"
    OPERATION = "operation"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class OwnerSource(StrEnum):
    CODEOWNERS = "codeowners"
    CATALOG = "catalog"
    COMMITTERS = "committers"


class Role(StrEnum):
    """What a person may do; a user holds the roles configuration gives, none implied by another."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    APPROVER = "approver"
    ADMIN = "admin"
