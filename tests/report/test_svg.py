"""The console's pictures: escaped text, accessible titles, layout and the data each picture must show."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from incidentlens.report.svg import (
    GraphEdge,
    MttxPoint,
    WaterfallSpan,
    dependency_graph_svg,
    mttx_chart_svg,
    sparkline_svg,
    trace_waterfall_svg,
)
from incidentlens.report.svg.graph import layers
from incidentlens.report.svg.waterfall import ordered_rows

NS = "{http://www.w3.org/2000/svg}"
EVIL = "<script>alert('x')</script>&\""


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)  # well-formed XML, or this raises
    assert root.get("role") == "img" and root.find(f"{NS}title") is not None and root.find(f"{NS}desc") is not None
    ids = root.get("aria-labelledby", "").split()
    assert [root.find(f"{NS}title").get("id"), root.find(f"{NS}desc").get("id")] == ids  # type: ignore[union-attr]
    return root


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{NS}text")]


def test_layers_put_callees_right_of_callers_and_survive_cycles() -> None:
    edges = [GraphEdge("frontend", "checkout"), GraphEdge("checkout", "cart"), GraphEdge("frontend", "cart")]
    assert layers(edges) == [["frontend"], ["checkout"], ["cart"]]
    cyclic = [GraphEdge("a", "b"), GraphEdge("b", "a"), GraphEdge("b", "c")]
    assert sorted(n for col in layers(cyclic) for n in col) == ["a", "b", "c"]
    assert layers([], ["lonely"]) == [["lonely"]]


def test_graph_marks_the_root_cause_and_failing_calls() -> None:
    svg = dependency_graph_svg(
        edges=[GraphEdge("frontend", "checkout", 100, 0), GraphEdge("checkout", "cart", 90, 31)], root="cart"
    )
    root = parse(svg)
    assert "Suspected root cause: cart" in root.find(f"{NS}desc").text  # type: ignore[union-attr]
    assert "checkout→cart" in root.find(f"{NS}desc").text  # type: ignore[union-attr]
    assert len(root.findall(f".//{NS}g[@class='node root']")) == 1
    red = [p for p in root.iter(f"{NS}path") if p.get("stroke") == "#cf222e" and p.get("d", "").startswith("M")]
    assert len(red) == 1 and "31 errors" in red[0].find(f"{NS}title").text  # type: ignore[union-attr]


def test_graph_escapes_service_names() -> None:
    svg = dependency_graph_svg(edges=[GraphEdge(EVIL, "b", 1, 1)], root=EVIL)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert any(EVIL[:18] in t for t in texts(parse(svg)))  # shown as text (truncated label)


@given(st.lists(st.tuples(st.text(max_size=12), st.text(max_size=12), st.integers(0, 9)), max_size=12))
def test_graph_is_well_formed_for_any_names(raw: list[tuple[str, str, int]]) -> None:
    edges = [GraphEdge(a, b, n, n % 2) for a, b, n in raw]
    parse(dependency_graph_svg(edges=edges, root=raw[0][0] if raw else None))  # control characters dropped too


def test_waterfall_orders_children_under_parents_and_marks_errors() -> None:
    spans = [
        WaterfallSpan("c", "b", "cart", "GET", 3_000_000, 4_000_000, True),
        WaterfallSpan("a", "", "frontend", "POST /checkout", 0, 10_000_000),
        WaterfallSpan("b", "a", "checkout", "PlaceOrder", 1_000_000, 9_000_000, True),
        WaterfallSpan("d", "zz", "orphan", "lost parent", 2_000_000, 2_500_000),
    ]
    assert [(d, s.span_id) for d, s in ordered_rows(spans)] == [(0, "a"), (1, "b"), (2, "c"), (0, "d")]
    root = parse(trace_waterfall_svg(spans=spans, trace_id="t1", total_spans=250, highlight_service="cart"))
    shown = texts(root)
    assert "cart: GET" in shown and "1.0 ms error" in shown and "10.0 ms" in shown
    assert "showing the first 4 of 250 spans" in shown
    assert "2 failing" in root.find(f"{NS}desc").text  # type: ignore[union-attr]
    bars = root.findall(f".//{NS}rect")
    assert float(bars[0].get("width", 0)) > float(bars[2].get("width", 0)) > 0  # the root spans the whole trace


def test_waterfall_survives_parent_cycles_and_escapes() -> None:
    spans = [WaterfallSpan("a", "b", EVIL, EVIL, 0, 5), WaterfallSpan("b", "a", "x", "y", 1, 2)]
    svg = trace_waterfall_svg(spans=spans, trace_id=EVIL)
    assert "<script>" not in svg and EVIL[:8] not in svg
    parse(svg)
    assert len(ordered_rows(spans)) == 2  # the cycle has no root: both are drawn, once each


def test_sparkline_marks_the_onset_and_describes_the_shift() -> None:
    points = [(i * 10, 1.0) for i in range(10)] + [(100 + i * 10, 5.0) for i in range(10)]
    root = parse(sparkline_svg(points=points, label=f"errors {EVIL}", onset_ns=100))
    desc = root.find(f"{NS}desc").text or ""  # type: ignore[union-attr]
    assert "mean 1 before the onset, 5 after" in desc and "<script>" in desc  # parsed text: it was escaped
    onset = [ln for ln in root.iter(f"{NS}line") if ln.get("stroke-dasharray")]
    assert len(onset) == 1 and float(onset[0].get("x1", 0)) > 100
    assert "not enough points" in sparkline_svg(points=[(1, 1.0)], label="x")


def test_mttx_chart_draws_bars_and_dashes_for_missing_values() -> None:
    root = parse(
        mttx_chart_svg(
            metrics=["MTTA", "MTTU"], points=[MttxPoint("2026-W45", (4.0, None)), MttxPoint("2026-W46", (2.0, 30.0))]
        )
    )
    titles = [t.text for r in root.iter(f"{NS}rect") for t in r.iter(f"{NS}title")]
    assert "2026-W45: MTTA 4.0 min" in titles and "2026-W46: MTTU 30.0 min" in titles
    assert "2026-W45: MTTA 4.0 min, MTTU -;" in (root.find(f"{NS}desc").text or "")  # type: ignore[union-attr]
    assert "no finished incidents" in mttx_chart_svg(metrics=["MTTA"], points=[])


def test_mttx_chart_legend_fits_inside_the_picture() -> None:
    """With one period and five metrics the legend used to run past the SVG's width and was clipped."""
    import re

    names = ["MTTA", "MTTU", "MTTO", "MTTM", "MTTR"]
    svg = mttx_chart_svg(metrics=names, points=[MttxPoint("2026-W49", (1.0, 2.0, 3.0, 4.0, 5.0))])
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))  # type: ignore[union-attr]
    for name in names:
        x = float(re.search(rf'<text x="([\d.]+)"[^>]*>{name}</text>', svg).group(1))  # type: ignore[union-attr]
        assert x + len(name) * 7.5 <= width, (name, x, width)
