"""The involved dependency graph: callers left, callees right (longest-path layers), the root cause marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from incidentlens.report.svg.common import COLORS, esc, svg_root

__all__ = ["GraphEdge", "dependency_graph_svg", "layers"]

NODE_W, NODE_H, GAP_X, GAP_Y, PAD = 150, 34, 70, 22, 16
TOP_ROOM = 40  # for calls that bow over a column
MAX_LABEL = 19


@dataclass(frozen=True, slots=True)
class GraphEdge:
    caller: str
    callee: str
    calls: int = 0
    errors: int = 0


def layers(edges: Sequence[GraphEdge], extra: Sequence[str] = ()) -> list[list[str]]:
    """Services in columns: each callee at least one column right of its callers (cycles cut after n rounds)."""
    nodes = sorted({e.caller for e in edges} | {e.callee for e in edges} | set(extra))
    depth = dict.fromkeys(nodes, 0)
    for _ in range(len(nodes)):  # Bellman-Ford-like relaxation; a cycle stops growing after n rounds
        changed = False
        for e in edges:
            if e.caller != e.callee and depth[e.callee] < depth[e.caller] + 1 <= len(nodes):
                depth[e.callee] = depth[e.caller] + 1
                changed = True
        if not changed:
            break
    columns: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for node in nodes:
        columns[depth[node]].append(node)
    # Order each column by the mean row of its callers, so edges cross less.
    row: dict[str, float] = {}
    for col in columns:
        callers = {n: [row[e.caller] for e in edges if e.callee == n and e.caller in row] for n in col}
        col.sort(key=lambda n: (sum(callers[n]) / len(callers[n]) if callers[n] else 0.0, n))
        row.update({n: float(i) for i, n in enumerate(col)})
    return [c for c in columns if c]


def _label(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def dependency_graph_svg(
    *, edges: Sequence[GraphEdge], root: str | None = None, ident: str = "graph", title: str = "Dependency graph"
) -> str:
    """Boxes for services, arrows for calls (red and thicker with errors); `root` drawn as the suspected cause."""
    columns = layers(edges, [root] if root else ())
    if not columns:
        return svg_root(
            ident=ident,
            width=320,
            height=40,
            title=title,
            desc="No service calls were observed.",
            body=f'<text x="8" y="24" fill="{COLORS["muted"]}">no service calls observed</text>',
        )
    tallest = max(len(c) for c in columns)
    width = max(PAD * 2 + len(columns) * NODE_W + (len(columns) - 1) * GAP_X, 600)  # room for the legend
    height = PAD * 2 + TOP_ROOM + tallest * NODE_H + (tallest - 1) * GAP_Y + 18
    pos: dict[str, tuple[float, float]] = {}
    for ci, col in enumerate(columns):
        offset = (tallest - len(col)) * (NODE_H + GAP_Y) / 2
        for ri, name in enumerate(col):
            pos[name] = (PAD + ci * (NODE_W + GAP_X), PAD + TOP_ROOM + offset + ri * (NODE_H + GAP_Y))
    parts = [
        '<defs><marker id="{0}-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{1}"/></marker>'
        '<marker id="{0}-arrow-err" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{2}"/></marker></defs>'.format(
            esc(ident), COLORS["line"], COLORS["error"]
        )
    ]
    for e in sorted(edges, key=lambda e: (e.errors > 0, e.caller, e.callee)):
        if e.caller == e.callee:
            continue
        (x1, y1), (x2, y2) = pos[e.caller], pos[e.callee]
        backwards = x2 <= x1
        sx, ex = (x1 + NODE_W, x2) if not backwards else (x1, x2 + NODE_W)
        color, marker = (COLORS["error"], "arrow-err") if e.errors else (COLORS["line"], "arrow")
        tip = f"{e.caller} calls {e.callee}: {e.calls} calls, {e.errors} errors"
        y1c, y2c = y1 + NODE_H / 2, y2 + NODE_H / 2
        # Calls that skip a column bow above the boxes in between instead of running through them.
        skip = backwards or abs(x2 - x1) > NODE_W + GAP_X
        # A cubic's peak is 3/4 of the way to its control points: these put it in the top margin, over every box.
        peak = min(y1c, y2c) - (min(y1c, y2c) - PAD) * 4 / 3
        c1, c2 = (peak, peak) if skip else (y1c, y2c)
        dx = (ex - sx) / 3
        parts.append(
            f'<path d="M{sx:.0f},{y1c:.0f} C{sx + dx:.0f},{c1:.0f} {ex - dx:.0f},{c2:.0f} {ex:.0f},{y2c:.0f}" '
            f'fill="none" stroke="{color}" stroke-width="{2.5 if e.errors else 1.2}" '
            f'marker-end="url(#{esc(ident)}-{marker})"><title>{esc(tip)}</title></path>'
        )
    for name, (x, y) in pos.items():
        is_root = name == root
        fill, border = (COLORS["root"], COLORS["root_border"]) if is_root else (COLORS["node"], COLORS["node_border"])
        tip = f"{name} (suspected root cause, a hypothesis)" if is_root else name
        weight = ' font-weight="700"' if is_root else ""
        parts.append(
            f'<g class="node{" root" if is_root else ""}"><title>{esc(tip)}</title>'
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" '
            f'stroke="{border}" stroke-width="{3 if is_root else 1}"/>'
            f'<text x="{x + NODE_W / 2:.0f}" y="{y + NODE_H / 2 + 4:.0f}" text-anchor="middle" fill="{COLORS["text"]}"'
            f"{weight}>{esc(_label(name))}</text></g>"
        )
    if root:
        parts.append(
            f'<text x="{PAD}" y="{height - 6:.0f}" fill="{COLORS["root_border"]}">'
            f"thick red border: suspected root cause ({esc(root)}, a hypothesis); red arrows: calls with errors</text>"
        )
    failing = sorted({f"{e.caller}→{e.callee}" for e in edges if e.errors})
    desc = (
        f"{len(pos)} services, {len(edges)} call edges."
        + (f" Suspected root cause: {root}." if root else "")
        + (f" Calls with errors: {', '.join(failing)}." if failing else " No call edge had errors.")
    )
    return svg_root(ident=ident, width=width, height=height, title=title, desc=desc, body="".join(parts))
