"""Fixtures of the assistance tests: a scripted local model server and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from tests.assist.llm_server import ScriptedModel, scripted_model

from incidentlens.assist.settings import AssistSettings, ProviderKind
from incidentlens.model import Evidence, EvidenceKind, FaultKind, Hypothesis, Severity
from incidentlens.store.database import open_database
from incidentlens.workflow import record_investigation


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with scripted_model() as server:
        yield server


def settings_for(model: ScriptedModel, kind: ProviderKind = ProviderKind.OPENAI, **more: object) -> AssistSettings:
    base = f"{model.url}/v1" if kind is ProviderKind.OPENAI else model.url
    values: dict[str, object] = {"timeout_seconds": 1.0, "retries": 1, "budget_tokens": 10**6, **more}
    return AssistSettings(provider=kind, base_url=base, model="test-model", **values)  # type: ignore[arg-type]


def record_small_incident(ws: Path) -> None:
    """INC-0001 in `ws`: one hypothesis citing one evidence record (ev-1), a brief without a narrative."""
    db = open_database(workspace=ws)
    try:
        record_investigation(
            db,
            title="payment fails",
            service="payment",
            severity=Severity.HIGH,
            detected_ns=1_764_300_000_000_000_000,
            alert_fingerprint="fp",
            evidence=[Evidence("ev-1", EvidenceKind.LOG_TEMPLATE, "payment", "new error template", "charge failed")],
            hypotheses=[Hypothesis("hyp-1-payment", "payment code", "payment", FaultKind.CODE, 0.7, ("ev-1",))],
            brief_json=orjson.dumps({"summary": "HYPOTHESIS: payment"}).decode(),
            workspace="ws",
            inputs={},
        )
    finally:
        db.dispose()
