"""A metric sparkline around the onset: the line, its range, and a marker where the incident began."""

from __future__ import annotations

from collections.abc import Sequence

from incidentlens.report.svg.common import COLORS, esc, fmt_value, svg_root

__all__ = ["sparkline_svg"]

W, H, PAD, LABEL_W = 240, 44, 4, 96


def sparkline_svg(
    *, points: Sequence[tuple[int, float]], label: str, onset_ns: int | None = None, ident: str = "spark"
) -> str:
    """`points` are (ts_ns, value); the dashed line marks the onset; min and max written beside the line."""
    title = f"Sparkline of {label} around the onset"
    pts = sorted(points)
    if len(pts) < 2:
        return svg_root(
            ident=ident,
            width=W,
            height=H,
            title=title,
            desc="Not enough points to draw.",
            body=f'<text x="4" y="26" fill="{COLORS["muted"]}">not enough points</text>',
        )
    t0, t1 = pts[0][0], pts[-1][0]
    values = [v for _, v in pts]
    lo, hi = min(values), max(values)
    span_t, span_v = max(t1 - t0, 1), (hi - lo) or 1.0

    def xy(ts: int, v: float) -> str:
        x = PAD + (ts - t0) / span_t * (W - 2 * PAD)
        y = H - PAD - ((v - lo) / span_v) * (H - 2 * PAD)
        return f"{x:.1f},{y:.1f}"

    line = " ".join(xy(t, v) for t, v in pts)
    body = [f'<polyline fill="none" stroke="{COLORS["ok"]}" stroke-width="1.5" points="{line}"/>']
    before = [v for t, v in pts if onset_ns is not None and t < onset_ns]
    after = [v for t, v in pts if onset_ns is not None and t >= onset_ns]
    if onset_ns is not None and t0 <= onset_ns <= t1:
        x = PAD + (onset_ns - t0) / span_t * (W - 2 * PAD)
        body.append(
            f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{H}" stroke="{COLORS["error"]}" stroke-dasharray="3 2">'
            "<title>onset</title></line>"
        )
    body.append(
        f'<text x="{W + 6}" y="14" fill="{COLORS["muted"]}">max {esc(fmt_value(hi))}</text>'
        f'<text x="{W + 6}" y="{H - 4}" fill="{COLORS["muted"]}">min {esc(fmt_value(lo))}</text>'
    )
    desc = f"{label}: {len(pts)} points from {fmt_value(lo)} to {fmt_value(hi)}"
    if before and after:
        mean_before, mean_after = sum(before) / len(before), sum(after) / len(after)
        desc += f"; mean {fmt_value(mean_before)} before the onset, {fmt_value(mean_after)} after"
    return svg_root(ident=ident, width=W + LABEL_W, height=H, title=title, desc=desc + ".", body="".join(body))
