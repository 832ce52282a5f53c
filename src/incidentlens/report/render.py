"""Render a Brief as Markdown, HTML, JSON or rich terminal output from the templates beside this module."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from incidentlens.report.brief import Brief, clock, iso

TEMPLATES = Path(__file__).parent / "templates"


class OutputFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "md"
    HTML = "html"
    JSON = "json"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals.update(iso=iso, clock=clock)
    return env


def render_markdown(brief: Brief) -> str:
    return _environment().get_template("brief.md.j2").render(b=brief)


def render_html(brief: Brief) -> str:
    return _environment().get_template("brief.html").render(b=brief)


def render_json(brief: Brief, extra: dict[str, Any] | None = None) -> str:
    data = brief.to_dict()
    if extra:
        data.update(extra)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"


def render(brief: Brief, fmt: OutputFormat, extra: dict[str, Any] | None = None) -> str:
    if fmt is OutputFormat.HTML:
        return render_html(brief)
    if fmt is OutputFormat.JSON:
        return render_json(brief, extra)
    return render_markdown(brief)
