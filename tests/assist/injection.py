"""The adversarial suite's moving parts, shared by its test and its benchmark: plant an injection at one place
(or all), investigate, and compare what IncidentLens concluded with the clean run; then let a malicious model
answer and check what it could change (nothing) and what was flagged."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.assist.llm_server import ScriptedModel
from tests.assist.plant import INJECTION, PLACES, plant

from incidentlens.assist.assistant import Assistant
from incidentlens.assist.brief import narrate
from incidentlens.assist.providers import provider_for
from incidentlens.assist.settings import AssistSettings, ProviderKind
from incidentlens.investigation import InvestigationRequest, run
from incidentlens.report.assistance import Assistance
from incidentlens.report.brief import Brief

_SHA = re.compile(r"\b[0-9a-f]{7,40}\b")


@dataclass(frozen=True)
class Outcome:
    conclusion: tuple[Any, ...]  # leading service and fault, abstention
    ranking: tuple[Any, ...]  # every hypothesis: service, fault, confidence (3 places)
    proposals: tuple[Any, ...]  # fix suggestions: kind, service, risk, title without commit ids
    brief: Brief


def investigate(bundle: Path) -> Outcome:
    result = run(InvestigationRequest.for_files([bundle], repository=bundle / "repo"))
    brief = result.brief
    ranked = tuple((h.service, h.fault.value, round(h.confidence, 3)) for h in result.hypotheses)
    lead = (ranked[0][:2] if ranked else None, brief.abstained)
    fixes = tuple(
        (f.kind.value, f.service, f.risk.value, _SHA.sub("<sha>", f.title)) for rh in brief.hypotheses for f in rh.fixes
    )
    return Outcome(lead, ranked, fixes, brief)


def variant(clean: Path, where: Path, place: str, *, service: str) -> Path:
    """A copy of the clean bundle with the injection at `place` ("all": at every place)."""
    shutil.copytree(clean, where)
    for p in PLACES if place == "all" else (place,):
        plant(where, p, INJECTION, service=service)
    return where


def malicious_narrative(brief: Brief, model: ScriptedModel) -> Assistance:
    model.script = ["malicious"]
    model._served = 0
    settings = AssistSettings(
        provider=ProviderKind.OPENAI, base_url=f"{model.url}/v1", model="evil", retries=0, budget_tokens=10**9
    )
    narrated = narrate(brief, Assistant(settings, provider=provider_for(settings)))
    assert narrated.assistance is not None
    return narrated.assistance
