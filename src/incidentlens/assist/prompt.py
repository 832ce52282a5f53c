"""Prompts: our instructions (files beside this module) in the system turn; the redacted evidence, JSON-encoded
inside a delimited block marked untrusted, in the user turn.

Telemetry never enters the instructions. Inside the block every `<` is written as the JSON escape `\\u003c`,
so no log line, alert annotation or span name can close the block and speak outside it.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from incidentlens.assist.firewall import Firewall
from incidentlens.assist.pack import EvidencePack
from incidentlens.assist.providers import Prompt

__all__ = ["PROTECTED_KEYS", "Purpose", "build_prompt", "redact_data"]

PROMPTS = Path(__file__).parent / "prompts"
OPEN, CLOSE = "<untrusted_telemetry>", "</untrusted_telemetry>"
# Our own identifiers: never redacted (they are how claims cite evidence), never from telemetry.
PROTECTED_KEYS = frozenset({"id", "evidence_for", "evidence_against", "rank", "confidence", "fault", "status"})


class Purpose(StrEnum):
    NARRATIVE = "narrative"
    STATUS = "status"
    POSTMORTEM = "postmortem"
    PATCH = "patch"
    ASK = "ask"


@cache
def _text(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8").strip()


def redact_data(value: Any, firewall: Firewall, *, key: str = "") -> Any:
    """Every string in `value` through the firewall, except our own ids and labels."""
    if key in PROTECTED_KEYS:
        return value
    if isinstance(value, str):
        return firewall.redact(value)
    if isinstance(value, dict):
        return {k: redact_data(v, firewall, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(v, firewall, key=key) for v in value]
    return value


def build_prompt(
    pack: EvidencePack,
    purpose: Purpose,
    firewall: Firewall,
    *,
    max_tokens: int,
    question: str = "",
    target: str = "",
) -> Prompt:
    """`target`: for a patch, the hypothesis id the patch is for (our id, not telemetry)."""
    task = _text(purpose.value)
    if purpose is Purpose.PATCH and target:
        task += f"\nThe hypothesis to patch for: {target}."
    system = f"{_text('system')}\n\n{task}\n\n{_text('schema')}"
    data = orjson.dumps(redact_data(pack.as_data(), firewall), option=orjson.OPT_INDENT_2).decode()
    user = f"{OPEN}\n{_neutral(data)}\n{CLOSE}\n"
    if purpose is Purpose.ASK:
        asked = _neutral(orjson.dumps(firewall.redact(question)).decode())
        user += f"<question>\n{asked}\n</question>\n"
    user += "Answer with the JSON object the instructions describe."
    return Prompt(system=system, user=user, max_tokens=max_tokens)


def _neutral(text: str) -> str:
    return text.replace("<", "\\u003c").replace(">", "\\u003e")
