"""The optional model narrative of a fresh brief: the deterministic brief is unchanged, the narrative and its
egress record are added beside it (`Brief.assistance`)."""

from __future__ import annotations

import dataclasses

from incidentlens.assist.assistant import Assistant
from incidentlens.assist.pack import pack_from_brief
from incidentlens.assist.prompt import Purpose
from incidentlens.assist.settings import assist_settings
from incidentlens.errors import IncidentLensError
from incidentlens.report.assistance import Assistance
from incidentlens.report.brief import Brief
from incidentlens.workflow.config import Settings

__all__ = ["narrate", "narrate_if_asked"]


def narrate(brief: Brief, assistant: Assistant) -> Brief:
    """The brief with the model's narrative (or the reason there is none) attached."""
    pack = pack_from_brief(brief.to_dict(), max_evidence=assistant.settings.max_evidence)
    drafted = assistant.assist(pack, Purpose.NARRATIVE)
    return dataclasses.replace(brief, assistance=drafted.assistance)


def narrate_if_asked(brief: Brief, settings: Settings, asked: bool | None) -> Brief:
    """`investigate --assist` (or `llm.brief: true` without `--no-assist`): the brief with its narrative."""
    chosen = assist_settings(settings)
    if asked is False or (asked is None and (chosen is None or not chosen.brief)):
        return brief
    from incidentlens.assist.incidents import require_assist

    chosen = require_assist(settings)  # --assist without an llm: section is a mistake to report
    try:
        assistant = Assistant(chosen)
        return narrate(brief, assistant)
    except IncidentLensError as exc:  # the extra missing, the key variable unset: the brief must still come out
        return dataclasses.replace(brief, assistance=Assistance(Purpose.NARRATIVE.value, fallback=str(exc)))
