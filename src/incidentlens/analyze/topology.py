"""The service dependency graph reconstructed from spans (parent/child, client peers, messaging links)."""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from incidentlens.telemetry.rows import Edge


@dataclass(frozen=True, slots=True)
class GraphEdge:
    caller: str
    callee: str
    calls: int
    errors: int
    via: str


def build_graph(edges: list[Edge]) -> nx.DiGraph:
    """Caller -> callee; the same pair seen several ways keeps the largest call count."""
    graph = nx.DiGraph()
    for e in edges:
        if not e.caller or not e.callee or e.caller == e.callee:
            continue
        if graph.has_edge(e.caller, e.callee):
            data = graph.edges[e.caller, e.callee]
            if e.calls > data["calls"]:
                data.update(calls=e.calls, errors=e.errors)
            if e.via == "link":
                data["via"] = "link"
        else:
            graph.add_edge(e.caller, e.callee, calls=e.calls, errors=e.errors, via=e.via)
    return graph


def downstream(graph: nx.DiGraph, service: str) -> set[str]:
    if service not in graph:
        return set()
    return set(nx.descendants(graph, service))


def upstream(graph: nx.DiGraph, service: str) -> set[str]:
    if service not in graph:
        return set()
    return set(nx.ancestors(graph, service))


def involved_edges(graph: nx.DiGraph, services: set[str]) -> list[GraphEdge]:
    """Edges on the paths between involved services, for the brief's graph."""
    keep: set[str] = set()
    for s in services:
        if s in graph:
            keep.add(s)
            keep |= {a for a in nx.ancestors(graph, s)}
    sub = graph.subgraph(keep)
    return sorted(
        (GraphEdge(a, b, d["calls"], d["errors"], d["via"]) for a, b, d in sub.edges(data=True)),
        key=lambda e: (e.caller, e.callee),
    )
