"""Shared pieces of the SVG pictures: escaping, the accessible root element, number formatting."""

from __future__ import annotations

import re
from html import escape

__all__ = ["COLORS", "esc", "fmt_duration", "fmt_value", "svg_root"]

# Text colours meet WCAG AA (>= 4.5:1) on white; fills carry their meaning in text too, never colour alone.
COLORS = {
    "text": "#1b1f24",
    "muted": "#57606a",
    "line": "#8c959f",
    "node": "#ddf4ff",
    "node_border": "#0969da",
    "root": "#ffebe9",
    "root_border": "#cf222e",
    "error": "#cf222e",
    "ok": "#0969da",
    "grid": "#d0d7de",
}


# Characters XML 1.0 forbids: inline SVG must stay well-formed whatever a service name holds.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def esc(text: object) -> str:
    """Text and attribute values: &, <, >, " and ' escaped, characters XML forbids dropped."""
    return escape(_NOT_XML.sub("", str(text)), quote=True)


def svg_root(*, ident: str, width: float, height: float, title: str, desc: str, body: str) -> str:
    """The `<svg>` element with its title and description referenced for assistive technology."""
    i = esc(ident)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" aria-labelledby="{i}-title {i}-desc" '
        f'font-family="system-ui, sans-serif" font-size="12">'
        f'<title id="{i}-title">{esc(title)}</title><desc id="{i}-desc">{esc(desc)}</desc>{body}</svg>'
    )


def fmt_duration(ns: float) -> str:
    """A span's duration in the unit a reader expects: us, ms or s."""
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f} µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f} ms"
    return f"{ns / 1_000_000_000:.2f} s"


def fmt_value(value: float) -> str:
    return f"{value:.4g}"
