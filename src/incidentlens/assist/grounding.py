"""The model's answer against its schema and the evidence: claims that cite no existing evidence id are dropped
and counted; claims that repeat instructions planted in telemetry are withheld and flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from incidentlens.errors import ModelError
from incidentlens.report.assistance import AssistedClaim

__all__ = ["Grounded", "ground", "instruction_like", "parse_answer"]

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)
# Text that tries to steer a reader or a model: what an injection says. Matched in telemetry (to know what
# was planted) and in answers (to withhold claims that repeat it).
INSTRUCTION = re.compile(
    r"(?i)"
    r"\b(?:ignore|disregard|forget|override)\b[^.\n]{0,40}\b(?:instructions?|rules?|prompts?|above|previous)\b"
    r"|\bnew\s+instructions?\b|\bsystem\s+prompt\b|\byou\s+are\s+now\b|\bas\s+an\s+ai\b"
    r"|\b(?:approve|execute|merge|deploy|run)\s+(?:the\s+)?(?:fix|proposal|patch|command|branch)\b"
    r"|\bapprove\s+[A-Z]+-\d+-F\d+\b|\bapprove\s+(?:fix\s+)?#?\d+\b"
    r"|\b(?:send|post|upload|forward|exfiltrate|email)\b[^.\n]{0,60}\b(?:to|at)\s+(?:https?://|\S+@\S+|\S+\.\S+)"
    r"|\bthe\s+(?:real\s+|actual\s+|true\s+)?root\s+cause\s+is\b"
    r"|\b(?:mark|close|resolve|acknowledge)\s+(?:the\s+)?(?:incident|hypothesis)\b"
)
SHINGLE = 6


@dataclass(frozen=True, slots=True)
class Grounded:
    claims: tuple[AssistedClaim, ...]
    dropped: int
    flagged: tuple[str, ...]
    unanswerable: str
    patch: dict[str, Any] | None


def parse_answer(text: str) -> dict[str, Any]:
    """The answer's JSON object (a ```json fence around it is tolerated); ModelError when it is not one."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1)
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ModelError(f"the model's answer is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ModelError("the model's answer is not a JSON object")
    claims = data.get("claims", [])
    if not isinstance(claims, list):
        raise ModelError("the model's answer has 'claims' that is not a list")
    return data


def instruction_like(text: str) -> bool:
    return INSTRUCTION.search(text) is not None


def ground(
    data: dict[str, Any],
    *,
    known: frozenset[str],
    untrusted: Iterable[str],
    display: Callable[[str], str] = str,
) -> Grounded:
    """Keep claims whose every cited id exists (at least one); withhold those that repeat planted text.
    `display` re-identifies a claim, so it is compared with the telemetry as that was before redaction."""
    planted = _shingles(t for t in untrusted if instruction_like(t))
    kept: list[AssistedClaim] = []
    flagged: list[str] = []
    dropped = 0
    for item in data.get("claims", []):
        text = item.get("text") if isinstance(item, dict) else None
        cited = item.get("evidence") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text.strip():
            dropped += 1
            continue
        ids = tuple(str(c) for c in cited) if isinstance(cited, list) else ()
        if not ids or any(c not in known for c in ids):
            dropped += 1
            continue
        shown = display(text)
        if instruction_like(shown) or _shingles([shown]) & planted:
            flagged.append(text.strip())
            continue
        kept.append(AssistedClaim(text.strip(), ids))
    unanswerable = data.get("unanswerable")
    patch = data.get("patch") if isinstance(data.get("patch"), dict) else None
    return Grounded(
        claims=tuple(kept),
        dropped=dropped,
        flagged=tuple(flagged),
        unanswerable=unanswerable.strip() if isinstance(unanswerable, str) and not kept else "",
        patch=patch,
    )


def _shingles(texts: Iterable[str]) -> set[tuple[str, ...]]:
    out: set[tuple[str, ...]] = set()
    for text in texts:
        words = re.findall(r"\w+", text.lower())
        out.update(tuple(words[i : i + SHINGLE]) for i in range(max(0, len(words) - SHINGLE + 1)))
    return out
