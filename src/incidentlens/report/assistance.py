"""What a language model contributed to a report, kept beside the deterministic text, never in place of it.

Pure records: `assist/` produces them, the brief and the console show them. Each model call leaves an
`EgressLine` (what left the machine); claims are shown only with the evidence ids they cite.
"""

from __future__ import annotations

from dataclasses import dataclass, field

MODEL_LABEL = "MODEL-DRAFTED"


@dataclass(frozen=True, slots=True)
class AssistedClaim:
    text: str
    evidence: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EgressLine:
    """One call: where it went, why, how many bytes, which evidence, how many items of each kind were redacted."""

    provider: str
    model: str
    endpoint: str
    purpose: str
    at: str
    bytes_sent: int
    evidence_ids: tuple[str, ...]
    redactions: dict[str, int]
    redaction_on: bool = True
    trusted: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    outcome: str = "ok"

    def describe(self) -> str:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.redactions.items())) or "none found"
        redaction = f"redacted: {kinds}" if self.redaction_on else "redaction OFF (trusted local model)"
        cost = f", cost {self.cost:.4f}" if self.cost is not None else ""
        return (
            f"{self.at} {self.provider}/{self.model} at {self.endpoint} ({self.purpose}): {self.bytes_sent} bytes, "
            f"{len(self.evidence_ids)} evidence records, {redaction}; tokens {self.input_tokens} in / "
            f"{self.output_tokens} out{cost}; {self.outcome}"
        )


@dataclass(frozen=True, slots=True)
class Assistance:
    """The model's text for one purpose, or why the deterministic text stands instead (`fallback`)."""

    purpose: str
    claims: tuple[AssistedClaim, ...] = ()
    dropped: int = 0  # claims citing no evidence, or evidence ids that do not exist
    flagged: tuple[str, ...] = ()  # claims withheld because they repeat instructions found in telemetry
    fallback: str = ""  # non-empty: the model's text was not used, and why
    egress: tuple[EgressLine, ...] = field(default_factory=tuple)
    unanswerable: str = ""

    @property
    def used(self) -> bool:
        return not self.fallback

    def notes(self) -> tuple[str, ...]:
        """The lines a reader must see beside the model's text."""
        out: list[str] = []
        if self.fallback:
            out.append(f"model text not used: {self.fallback}; the deterministic text stands")
        if self.dropped:
            out.append(f"{self.dropped} model claim(s) without existing evidence ids were dropped")
        if self.flagged:
            out.append(f"{len(self.flagged)} model claim(s) repeating instructions found in telemetry were withheld")
        return tuple(out)
