"""Render postmortems and status updates (Markdown or HTML) from templates the user may override."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from incidentlens.report.postmortem import Postmortem
from incidentlens.report.references import stamp
from incidentlens.report.render import render_template
from incidentlens.report.status import StatusUpdate

__all__ = ["ReportFormat", "render_postmortem", "render_status_update"]


class ReportFormat(StrEnum):
    MARKDOWN = "md"
    HTML = "html"


_SUFFIX = {ReportFormat.MARKDOWN: ".md.j2", ReportFormat.HTML: ".html"}


def render_postmortem(pm: Postmortem, fmt: ReportFormat, *, templates_dir: Path | None = None) -> str:
    """`postmortem.md.j2` or `postmortem.html`, with `pm` and `stamp` (see docs/postmortem.md)."""
    return render_template(f"postmortem{_SUFFIX[fmt]}", templates_dir=templates_dir, pm=pm, stamp=stamp)


def render_status_update(su: StatusUpdate, fmt: ReportFormat, *, templates_dir: Path | None = None) -> str:
    """`status.md.j2` or `status.html`, with `su` and `stamp` (see docs/postmortem.md)."""
    return render_template(f"status{_SUFFIX[fmt]}", templates_dir=templates_dir, su=su, stamp=stamp)
