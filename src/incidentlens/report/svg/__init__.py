"""Pictures for the console and the HTML brief as SVG strings: pure functions over plain data, every text escaped.

Each picture carries `role="img"`, a `<title>` and a `<desc>` so screen readers get what the eye gets.
"""

from incidentlens.report.svg.chart import MttxPoint, mttx_chart_svg
from incidentlens.report.svg.graph import GraphEdge, dependency_graph_svg
from incidentlens.report.svg.sparkline import sparkline_svg
from incidentlens.report.svg.waterfall import WaterfallSpan, trace_waterfall_svg

__all__ = [
    "GraphEdge",
    "MttxPoint",
    "WaterfallSpan",
    "dependency_graph_svg",
    "mttx_chart_svg",
    "sparkline_svg",
    "trace_waterfall_svg",
]
