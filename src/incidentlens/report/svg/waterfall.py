"""A trace waterfall: one row per span in call order (children under parents), bars on a shared time axis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from incidentlens.report.svg.common import COLORS, esc, fmt_duration, svg_root

__all__ = ["WaterfallSpan", "ordered_rows", "trace_waterfall_svg"]

LABEL_W, BAR_W, ROW_H, PAD, INDENT, MAX_LABEL = 300, 460, 20, 10, 10, 44


@dataclass(frozen=True, slots=True)
class WaterfallSpan:
    span_id: str
    parent_span_id: str
    service: str
    name: str
    start_ns: int
    end_ns: int
    error: bool = False


def ordered_rows(spans: Sequence[WaterfallSpan]) -> list[tuple[int, WaterfallSpan]]:
    """(depth, span) depth-first by start time; spans whose parent is missing start their own subtree."""
    ids = {s.span_id for s in spans}
    children: dict[str, list[WaterfallSpan]] = {}
    roots: list[WaterfallSpan] = []
    for s in spans:
        if s.parent_span_id and s.parent_span_id in ids and s.parent_span_id != s.span_id:
            children.setdefault(s.parent_span_id, []).append(s)
        else:
            roots.append(s)
    out: list[tuple[int, WaterfallSpan]] = []
    seen: set[str] = set()
    by_start = sorted(spans, key=lambda s: (s.start_ns, s.span_id))
    # Roots first; spans caught in a parent cycle (bad data, no root) start their own subtree afterwards.
    for start in [*sorted(roots, key=lambda s: (s.start_ns, s.span_id)), *by_start]:
        stack = [(0, start)]
        while stack:
            depth, span = stack.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            out.append((depth, span))
            kids = sorted(children.get(span.span_id, []), key=lambda s: (s.start_ns, s.span_id), reverse=True)
            stack.extend((depth + 1, k) for k in kids)
    return out


def trace_waterfall_svg(
    *,
    spans: Sequence[WaterfallSpan],
    trace_id: str,
    total_spans: int | None = None,
    ident: str = "waterfall",
    highlight_service: str | None = None,
) -> str:
    """Bars from each span's start to end; failing spans red and labelled "error"; the service in question bold."""
    title = f"Trace waterfall of exemplar trace {trace_id}"
    rows = ordered_rows(spans)
    if not rows:
        return svg_root(
            ident=ident,
            width=320,
            height=40,
            title=title,
            desc="The trace has no stored spans.",
            body=f'<text x="8" y="24" fill="{COLORS["muted"]}">no spans stored</text>',
        )
    t0 = min(s.start_ns for s in spans)
    t1 = max(max(s.end_ns, s.start_ns) for s in spans)
    scale = BAR_W / max(t1 - t0, 1)
    width = PAD * 2 + LABEL_W + BAR_W + 90
    height = PAD * 2 + (len(rows) + 1) * ROW_H + (ROW_H if total_spans and total_spans > len(rows) else 0)
    x0 = PAD + LABEL_W
    parts = [
        f'<text x="{x0}" y="{PAD + 12}" fill="{COLORS["muted"]}">0</text>',
        f'<text x="{x0 + BAR_W}" y="{PAD + 12}" text-anchor="end" fill="{COLORS["muted"]}">'
        f"{esc(fmt_duration(t1 - t0))}</text>",
    ]
    for i, (depth, s) in enumerate(rows):
        y = PAD + (i + 1) * ROW_H
        bx = x0 + (s.start_ns - t0) * scale
        bw = max((max(s.end_ns, s.start_ns) - s.start_ns) * scale, 1.5)
        color = COLORS["error"] if s.error else COLORS["ok"]
        label = f"{s.service}: {s.name}"
        short = label if len(label) <= MAX_LABEL - depth else label[: max(MAX_LABEL - depth - 1, 8)] + "…"
        bold = ' font-weight="700"' if highlight_service and s.service == highlight_service else ""
        status = "error" if s.error else "ok"
        tip = f"{label} — {fmt_duration(s.end_ns - s.start_ns)}, {status}"
        parts.append(
            f'<g class="span{" error" if s.error else ""}"><title>{esc(tip)}</title>'
            f'<text x="{PAD + min(depth, 12) * INDENT}" y="{y + 14}" fill="{COLORS["text"]}"{bold}>{esc(short)}</text>'
            f'<rect x="{bx:.1f}" y="{y + 4}" width="{bw:.1f}" height="{ROW_H - 8}" fill="{color}" rx="2"/>'
            f'<text x="{x0 + BAR_W + 6}" y="{y + 14}" fill="{COLORS["error"] if s.error else COLORS["muted"]}">'
            f"{esc(fmt_duration(s.end_ns - s.start_ns))}{' error' if s.error else ''}</text></g>"
        )
    if total_spans and total_spans > len(rows):
        parts.append(
            f'<text x="{PAD}" y="{height - PAD}" fill="{COLORS["muted"]}">'
            f"showing the first {len(rows)} of {total_spans} spans</text>"
        )
    errors = sum(1 for s in spans if s.error)
    desc = (
        f"{len(rows)} spans over {fmt_duration(t1 - t0)}; {errors} failing"
        + (f" (first failing span: {next(s.service for _, s in rows if s.error)})" if errors else "")
        + "."
    )
    return svg_root(ident=ident, width=width, height=height, title=title, desc=desc, body="".join(parts))
