"""Render a Brief as Markdown, HTML, JSON or rich terminal output from the templates beside this module."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
    UndefinedError,
    select_autoescape,
)
from markupsafe import Markup, escape

from incidentlens.errors import ConfigError, InputError
from incidentlens.report.brief import CONFIDENCE_MEANING, Brief, capitalize_first, clock, iso
from incidentlens.report.pictures import brief_pictures
from incidentlens.report.render_text import render_text

TEMPLATES = Path(__file__).parent / "templates"


class OutputFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "md"
    HTML = "html"
    JSON = "json"


def template_environment(templates_dir: Path | None = None) -> Environment:
    """Templates beside this module; a file of the same name in `templates_dir` (the user's) wins."""
    search = [TEMPLATES]
    if templates_dir is not None:
        if not templates_dir.is_dir():
            raise ConfigError(f"templates folder {templates_dir} does not exist or is not a folder")
        search.insert(0, templates_dir)
    env = Environment(
        loader=FileSystemLoader(search),
        autoescape=select_autoescape(["html"], default_for_string=False, default=False),
        undefined=StrictUndefined,
        trim_blocks=False,
        keep_trailing_newline=True,
    )
    env.globals.update(iso=iso, clock=clock, confidence_meaning=CONFIDENCE_MEANING)
    env.filters["capitalize_first"] = capitalize_first
    env.filters["ticks"] = ticks
    return env


_TICKS = re.compile(r"`([^`\n]+)`")


def ticks(text: str) -> Markup:
    """Escape `text` for HTML and turn Markdown's `code` spans into <code> (no literal backticks in HTML)."""
    return Markup(_TICKS.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


def _environment() -> Environment:
    return template_environment()


def render_template(name: str, *, templates_dir: Path | None = None, **context: Any) -> str:
    """Render one template; a broken user template is an input error naming the file, line and reason."""
    env = template_environment(templates_dir)
    try:
        return env.get_template(name).render(**context)
    except TemplateSyntaxError as exc:
        raise InputError(f"template {exc.filename or name}:{exc.lineno}: {exc.message}") from None
    except UndefinedError as exc:
        raise InputError(f"template {name}: {exc.message} (see the variables in docs/postmortem.md)") from None
    except TemplateError as exc:
        raise InputError(f"template {name}: {exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"template {name} is not UTF-8 text: {exc.reason}") from None


def render_markdown(brief: Brief) -> str:
    return _environment().get_template("brief.md.j2").render(b=brief)


def render_html(brief: Brief) -> str:
    """Standalone HTML with the console's pictures (graph, trace waterfall, sparklines) inline as SVG."""
    top = brief.hypotheses[0].hypothesis.service if brief.hypotheses and not brief.abstained else None
    pictures = brief_pictures(brief.to_dict(), top)
    return _environment().get_template("brief.html").render(b=brief, pictures=pictures)


def render_json(brief: Brief, extra: dict[str, Any] | None = None) -> str:
    data = brief.to_dict()
    if extra:
        data.update(extra)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode() + "\n"


def render(brief: Brief, fmt: OutputFormat, extra: dict[str, Any] | None = None, *, width: int = 100) -> str:
    """The brief as text: `text` is a plain terminal rendering (no Markdown syntax), `md` Markdown."""
    if fmt is OutputFormat.TEXT:
        return render_text(brief, width=width)
    if fmt is OutputFormat.HTML:
        return render_html(brief)
    if fmt is OutputFormat.JSON:
        return render_json(brief, extra)
    return render_markdown(brief)
