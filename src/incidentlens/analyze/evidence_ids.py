"""Stable evidence ids: the same observation in the same data always gets the same id."""

from __future__ import annotations

import hashlib

from incidentlens.model import EvidenceKind


def evidence_id(kind: EvidenceKind, *parts: object) -> str:
    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:10]
    return f"ev-{kind.value.replace('_', '-')}-{digest}"


def strength(z: float, scale: float) -> float:
    """Map a non-negative test statistic to (0, 1): saturating, so many weak signals never look decisive."""
    import math

    return 0.0 if z <= 0 else 1.0 - math.exp(-z / scale)


def excerpt(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
