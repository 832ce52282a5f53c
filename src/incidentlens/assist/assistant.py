"""One model call for one purpose, end to end: budget, firewall, prompt, provider, grounding, re-identification.

Whatever goes wrong (no budget left, the endpoint down, a refusal, an answer that is not the schema), the result
is an `Assistance` with `fallback` saying why, and callers keep their deterministic text. The model's answer is
only text: nothing here creates, approves or executes anything.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from incidentlens.assist.firewall import Firewall
from incidentlens.assist.grounding import Grounded, ground, parse_answer
from incidentlens.assist.pack import EvidencePack
from incidentlens.assist.prompt import Purpose, build_prompt
from incidentlens.assist.providers import Completion, Provider, provider_for
from incidentlens.assist.settings import AssistSettings
from incidentlens.errors import ModelError
from incidentlens.report.assistance import Assistance, AssistedClaim, EgressLine

__all__ = ["Assistant", "Budget", "Drafted"]

BYTES_PER_TOKEN = 3  # conservative: estimates run high, so a call never starts that the budget cannot pay


@dataclass
class Budget:
    """Tokens (and cost, when prices are set) one investigation may spend; `spent_*` includes earlier calls."""

    tokens: int
    cost: float | None = None
    spent_tokens: int = 0
    spent_cost: float = 0.0

    def refuses(self, estimate_tokens: int) -> str:
        """Why a call of about `estimate_tokens` may not start, or ''."""
        if self.spent_tokens + estimate_tokens > self.tokens:
            return f"over the token budget ({self.spent_tokens} spent + about {estimate_tokens} needed > {self.tokens})"
        if self.cost is not None and self.spent_cost >= self.cost:
            return f"over the cost budget ({self.spent_cost:.4f} spent of {self.cost:.4f})"
        return ""


@dataclass(frozen=True)
class Drafted:
    """An assistance and, for the patch purpose, the patch the model drafted (re-identified for the repository)."""

    assistance: Assistance
    patch: dict[str, Any] | None = None


class Assistant:
    """Calls the configured model through the firewall for one investigation (one budget)."""

    def __init__(self, settings: AssistSettings, *, provider: Provider | None = None, budget: Budget | None = None):
        self.settings = settings
        self.provider = provider or provider_for(settings)
        self.budget = budget or Budget(settings.budget_tokens, settings.budget_cost)

    def assist(self, pack: EvidencePack, purpose: Purpose, *, question: str = "", target: str = "") -> Drafted:
        firewall = Firewall(self.settings.detectors, names=self.settings.names, enabled=self.settings.redact)
        prompt = build_prompt(
            pack, purpose, firewall, max_tokens=self.settings.max_output_tokens, question=question, target=target
        )
        size = len(prompt.system.encode()) + len(prompt.user.encode())
        refusal = self.budget.refuses(size // BYTES_PER_TOKEN + prompt.max_tokens)
        if refusal:
            return Drafted(Assistance(purpose.value, fallback=refusal))
        try:
            completion = self.provider.complete(prompt)
        except ModelError as exc:
            line = self._egress(purpose, pack, firewall, None, size, outcome=f"failed: {exc}")
            return Drafted(Assistance(purpose.value, fallback=str(exc), egress=(line,)))
        cost = self.settings.cost(completion.input_tokens, completion.output_tokens)
        self.budget.spent_tokens += completion.input_tokens + completion.output_tokens
        self.budget.spent_cost += cost or 0.0
        if completion.refused:
            line = self._egress(purpose, pack, firewall, completion, size, outcome="refused")
            return Drafted(Assistance(purpose.value, fallback="the model refused to answer", egress=(line,)))
        try:
            grounded = ground(
                parse_answer(completion.text),
                known=pack.ids,
                untrusted=_strings(pack.as_data()),
                display=firewall.reidentify,
            )
        except ModelError as exc:
            line = self._egress(purpose, pack, firewall, completion, size, outcome="malformed answer")
            return Drafted(Assistance(purpose.value, fallback=str(exc), egress=(line,)))
        outcome = f"ok: {len(grounded.claims)} claims kept, {grounded.dropped} dropped, {len(grounded.flagged)} flagged"
        line = self._egress(purpose, pack, firewall, completion, size, outcome=outcome)
        return Drafted(self._assistance(purpose, grounded, firewall, line), self._patch(grounded, firewall, pack))

    def _assistance(self, purpose: Purpose, g: Grounded, firewall: Firewall, line: EgressLine) -> Assistance:
        claims = tuple(AssistedClaim(firewall.reidentify(c.text), c.evidence) for c in g.claims)
        fallback = ""
        if not claims and not g.unanswerable:
            fallback = "the model gave no claim backed by existing evidence"
        return Assistance(
            purpose.value,
            claims=claims,
            dropped=g.dropped,
            flagged=tuple(firewall.reidentify(f) for f in g.flagged),
            fallback=fallback,
            egress=(line,),
            unanswerable=firewall.reidentify(g.unanswerable),
        )

    def _patch(self, g: Grounded, firewall: Firewall, pack: EvidencePack) -> dict[str, Any] | None:
        if g.patch is None or not isinstance(g.patch.get("diff"), str):
            return None
        cited = g.patch.get("evidence")
        ids = [str(c) for c in cited] if isinstance(cited, list) else []
        if not ids or any(c not in pack.ids for c in ids):
            return {"rejected": "the patch cites no existing evidence id"}
        return {
            "diff": firewall.reidentify(str(g.patch["diff"])),
            "title": firewall.reidentify(str(g.patch.get("title") or "code patch")),
            "evidence": ids,
        }

    def _egress(
        self,
        purpose: Purpose,
        pack: EvidencePack,
        firewall: Firewall,
        completion: Completion | None,
        size: int,
        *,
        outcome: str,
    ) -> EgressLine:
        tokens_in = completion.input_tokens if completion else 0
        tokens_out = completion.output_tokens if completion else 0
        return EgressLine(
            provider=self.provider.name,
            model=self.provider.model,
            endpoint=self.settings.host,
            purpose=purpose.value,
            at=datetime.fromtimestamp(time.time(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            bytes_sent=completion.bytes_sent if completion else size,
            evidence_ids=tuple(sorted(pack.ids)),
            redactions=dict(sorted(firewall.counts.items())),
            redaction_on=firewall.enabled,
            trusted=self.settings.trusted,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=self.settings.cost(tokens_in, tokens_out) if completion else None,
            outcome=outcome,
        )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)
