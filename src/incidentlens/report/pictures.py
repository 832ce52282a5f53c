"""The brief's pictures (dependency graph, trace waterfall, metric sparklines) as SVG, for the console and
the HTML brief alike; drawn from the stored brief so they outlive telemetry retention."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from incidentlens.report.svg import (
    GraphEdge,
    WaterfallSpan,
    dependency_graph_svg,
    sparkline_svg,
    trace_waterfall_svg,
)


@dataclass(frozen=True, slots=True)
class Pictures:
    graph: str
    waterfall: str = ""
    waterfall_evidence: str = ""
    sparklines: dict[str, str] = field(default_factory=dict)  # evidence id -> SVG


def brief_pictures(brief: Mapping[str, Any], top_service: str | None) -> Pictures:
    """`brief` is a stored brief (`Brief.to_dict()`); `top_service` is drawn as the suspected cause."""
    edges = [
        GraphEdge(str(e["caller"]), str(e["callee"]), int(e.get("calls", 0)), int(e.get("errors", 0)))
        for e in brief.get("graph") or []
    ]
    graph = dependency_graph_svg(edges=edges, root=top_service, title="Involved services and their calls")
    waterfall, waterfall_evidence = "", ""
    trace = brief.get("exemplar_trace")
    if trace:
        spans = [
            WaterfallSpan(
                str(s["span_id"]),
                str(s["parent_span_id"]),
                str(s["service"]),
                str(s["name"]),
                int(s["start_ns"]),
                int(s["end_ns"]),
                bool(s["error"]),
            )
            for s in trace["spans"]
        ]
        waterfall = trace_waterfall_svg(
            spans=spans,
            trace_id=str(trace["trace_id"]),
            total_spans=int(trace["total_spans"]),
            highlight_service=top_service,
        )
        waterfall_evidence = str(trace["evidence_id"])
    onset = int(brief.get("onset_ns") or 0) or None
    sparks = {
        str(m["evidence_id"]): sparkline_svg(
            points=[(int(t), float(v)) for t, v in m["points"]],
            label=f"{m['metric']} on {m['service']}",
            onset_ns=onset,
            ident=f"spark-{m['evidence_id']}",
        )
        for m in brief.get("metric_series") or []
    }
    return Pictures(graph, waterfall, waterfall_evidence, sparks)
