"""Fixtures of the assistance tests: a scripted local model server and settings that point at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.assist.llm_server import ScriptedModel, scripted_model

from incidentlens.assist.settings import AssistSettings, ProviderKind


@pytest.fixture
def model() -> Iterator[ScriptedModel]:
    with scripted_model() as server:
        yield server


def settings_for(model: ScriptedModel, kind: ProviderKind = ProviderKind.OPENAI, **more: object) -> AssistSettings:
    base = f"{model.url}/v1" if kind is ProviderKind.OPENAI else model.url
    values: dict[str, object] = {"timeout_seconds": 1.0, "retries": 1, "budget_tokens": 10**6, **more}
    return AssistSettings(provider=kind, base_url=base, model="test-model", **values)  # type: ignore[arg-type]
