"""MTTx over time: grouped bars per period (week or incident), one bar per metric, values in minutes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from incidentlens.report.svg.common import COLORS, esc, svg_root

__all__ = ["SERIES_COLORS", "MttxPoint", "mttx_chart_svg"]

# Distinct and dark enough for white text labels nearby; the legend and per-bar titles name each one.
SERIES_COLORS = ("#0969da", "#8250df", "#1a7f37", "#bc4c00", "#cf222e")
PLOT_H, BAR_W, GROUP_GAP, LEFT, TOP, BOTTOM = 200, 12, 18, 56, 28, 46
LEGEND_STEP, CHAR_W = 90, 7.5  # legend entry spacing; a generous width per character of label text


@dataclass(frozen=True, slots=True)
class MttxPoint:
    """One period: its label and each metric's value in minutes (None: no incident reached it)."""

    label: str
    values: tuple[float | None, ...]


def _nice_max(value: float) -> float:
    for step in (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880, 10080):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def mttx_chart_svg(
    *, metrics: Sequence[str], points: Sequence[MttxPoint], ident: str = "mttx", title: str = "MTTx over time"
) -> str:
    """Median minutes per metric and period; a missing value is drawn as a small dash, not as zero."""
    if not points:
        return svg_root(
            ident=ident,
            width=360,
            height=40,
            title=title,
            desc="No finished incidents yet.",
            body=f'<text x="8" y="24" fill="{COLORS["muted"]}">no finished incidents yet</text>',
        )
    group_w = len(metrics) * BAR_W + GROUP_GAP
    legend_w = LEFT + max(0, len(metrics) - 1) * LEGEND_STEP + 16 + max((len(m) for m in metrics), default=0) * CHAR_W
    width = int(max(LEFT + len(points) * group_w + 20, legend_w + 10))  # the legend stays inside the picture
    height = TOP + PLOT_H + BOTTOM
    top_value = _nice_max(max((v for p in points for v in p.values if v is not None), default=1.0))
    parts: list[str] = []
    for i in range(5):
        tick = top_value * i / 4
        y = TOP + PLOT_H - PLOT_H * i / 4
        parts.append(
            f'<line x1="{LEFT}" x2="{width - 10}" y1="{y:.0f}" y2="{y:.0f}" stroke="{COLORS["grid"]}"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.0f}" text-anchor="end" fill="{COLORS["muted"]}">{tick:.0f}</text>'
        )
    parts.append(
        f'<text x="12" y="{TOP + PLOT_H / 2:.0f}" fill="{COLORS["muted"]}" '
        f'transform="rotate(-90 12 {TOP + PLOT_H / 2:.0f})" text-anchor="middle">minutes</text>'
    )
    for gi, p in enumerate(points):
        gx = LEFT + 10 + gi * group_w
        for mi, (name, value) in enumerate(zip(metrics, p.values, strict=False)):
            x = gx + mi * BAR_W
            color = SERIES_COLORS[mi % len(SERIES_COLORS)]
            if value is None:
                parts.append(
                    f'<text x="{x + BAR_W / 2}" y="{TOP + PLOT_H - 2}" text-anchor="middle" '
                    f'fill="{COLORS["muted"]}"><title>{esc(f"{p.label}: {name} not reached")}</title>–</text>'
                )
                continue
            h = PLOT_H * min(value / top_value, 1.0)
            parts.append(
                f'<rect x="{x}" y="{TOP + PLOT_H - h:.1f}" width="{BAR_W - 2}" height="{h:.1f}" fill="{color}">'
                f"<title>{esc(f'{p.label}: {name} {value:.1f} min')}</title></rect>"
            )
        parts.append(
            f'<text x="{gx + len(metrics) * BAR_W / 2:.0f}" y="{TOP + PLOT_H + 16}" text-anchor="middle" '
            f'fill="{COLORS["text"]}">{esc(p.label)}</text>'
        )
    for mi, name in enumerate(metrics):
        x = LEFT + mi * LEGEND_STEP
        parts.append(
            f'<rect x="{x}" y="{height - 18}" width="12" height="12" fill="{SERIES_COLORS[mi % len(SERIES_COLORS)]}"/>'
            f'<text x="{x + 16}" y="{height - 8}" fill="{COLORS["text"]}">{esc(name)}</text>'
        )
    desc = "; ".join(
        f"{p.label}: "
        + ", ".join(f"{n} {'-' if v is None else f'{v:.1f} min'}" for n, v in zip(metrics, p.values, strict=False))
        for p in points
    )
    return svg_root(ident=ident, width=width, height=height, title=title, desc=desc, body="".join(parts))
