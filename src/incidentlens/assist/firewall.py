"""The privacy firewall: every text bound for a model passes `Firewall.redact` first.

Secrets, personal data and configured names become stable pseudonyms (`[EMAIL_1]`: the same value gets the
same pseudonym in every text of one firewall); the mapping never leaves this object, and `reidentify` puts the
values back into an answer for display. Overlapping findings of several detectors are merged into one span
covering all of them, so no part of a secret survives because two detectors disagreed on its ends.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from incidentlens.assist.detectors import DetectorFn, detector
from incidentlens.assist.patterns import Span
from incidentlens.assist.settings import Detector

__all__ = ["PSEUDONYM", "Firewall"]

PSEUDONYM = re.compile(r"\[([A-Z_]+)_(\d+)\]")


class Firewall:
    """Redacts with the chosen detectors and configured names; `enabled=False` passes text through (a trusted
    local model with redaction turned off), still counting nothing and saying so in the egress record."""

    def __init__(
        self,
        detectors: Iterable[Detector] = (Detector.PATTERNS,),
        *,
        names: Iterable[str] = (),
        enabled: bool = True,
    ) -> None:
        self.enabled = enabled
        self._finders: tuple[DetectorFn, ...] = tuple(detector(d) for d in detectors) if enabled else ()
        wanted = sorted({n for n in names if n}, key=len, reverse=True)
        self._names = (
            re.compile("|".join(rf"(?<![\w-]){re.escape(n)}(?![\w-])" for n in wanted), re.IGNORECASE)
            if wanted
            else None
        )
        self._by_value: dict[tuple[str, str], str] = {}
        self._by_token: dict[str, str] = {}
        self._next: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()  # occurrences replaced, by kind

    def spans(self, text: str) -> list[Span]:
        """What would be replaced in `text`, overlaps merged, in order."""
        found: list[Span] = []
        for finder in self._finders:
            found.extend(finder(text))
        if self._names is not None:
            found.extend(Span(m.start(), m.end(), "NAME") for m in self._names.finditer(text))
        found.sort(key=lambda s: (s.start, -(s.end - s.start)))
        merged: list[Span] = []
        for span in found:
            if merged and span.start < merged[-1].end:
                last = merged[-1]
                longer = last if last.end - last.start >= span.end - span.start else span
                merged[-1] = Span(last.start, max(last.end, span.end), longer.kind)
            else:
                merged.append(span)
        return merged

    def redact(self, text: str) -> str:
        if not self.enabled or not text:
            return text
        out: list[str] = []
        last = 0
        for span in self.spans(text):
            out.append(text[last : span.start])
            out.append(self._pseudonym(span.kind, text[span.start : span.end]))
            last = span.end
        out.append(text[last:])
        return "".join(out)

    def _pseudonym(self, kind: str, value: str) -> str:
        key = (kind, value.lower() if kind in ("EMAIL", "NAME") else value)
        token = self._by_value.get(key)
        if token is None:
            self._next[kind] += 1
            token = f"[{kind}_{self._next[kind]}]"
            self._by_value[key] = token
            self._by_token[token] = value
        self.counts[kind] += 1
        return token

    def reidentify(self, text: str) -> str:
        """An answer for display: each pseudonym this firewall made becomes its value again."""
        return PSEUDONYM.sub(lambda m: self._by_token.get(m.group(0), m.group(0)), text)

    @property
    def mapping_size(self) -> int:
        return len(self._by_token)
