"""Our own ordered rules for secrets and personal data: what every install has, extras or not.

Each rule names a kind (the pseudonym's prefix and the egress record's count). Earlier rules win where matches
overlap, so whole structures (a private key block, a URL with a password) go before their parts. Evidence ids
and hex trace ids are not matched: digits inside a longer word never count as a phone or card number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RULES", "Span", "luhn_ok", "pattern_spans"]


@dataclass(frozen=True, slots=True)
class Span:
    """Characters [start, end) of a text hold one item of `kind`."""

    start: int
    end: int
    kind: str


@dataclass(frozen=True, slots=True)
class Rule:
    kind: str
    pattern: re.Pattern[str]
    group: int = 0  # the group that is the secret itself (the key name stays readable)


def _r(kind: str, pattern: str, group: int = 0, flags: int = 0) -> Rule:
    return Rule(kind, re.compile(pattern, flags), group)


_SECRET_KEYS = (
    r"(?:pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth|credentials?|"
    r"client[_-]?secret|private[_-]?key|session[_-]?id|cookie|x-api-key)"
)

RULES: tuple[Rule, ...] = (
    _r(
        "PRIVATE_KEY",
        r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    ),
    # scheme://user:password@host -- the password only, so the reader still sees which database.
    _r("PASSWORD", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@", 1),
    _r("JWT", r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    _r("AWS_KEY", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b"),
    _r(
        "AWS_SECRET",
        r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])",
        1,
    ),
    _r("API_KEY", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}\b|\bgithub_pat_[A-Za-z0-9_]{40,}\b"),
    _r("API_KEY", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    _r("API_KEY", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    _r("API_KEY", r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}\b"),
    _r("API_KEY", r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
    _r("API_KEY", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    _r("API_KEY", r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}\b"),
    _r("API_KEY", r"\bnpm_[A-Za-z0-9]{36}\b|\bpypi-[A-Za-z0-9_-]{50,}\b"),
    _r("API_KEY", r"(?i)\b(?:AccountKey|SharedAccessKey)=([A-Za-z0-9+/=]{20,})", 1),
    _r("TOKEN", r"(?i)\b(?:bearer|basic|token)\s+([A-Za-z0-9._~+/=-]{12,})", 1),
    # key=value, key: value, "key": "value" -- a value after a secret-looking key.
    _r(
        "SECRET",
        rf"(?i)[\w.-]*{_SECRET_KEYS}[\w.-]*[\"']?\s*(?:=|:|=>)\s*[\"']?([^\s\"',;&}}\]]{{4,}})",
        1,
    ),
    _r("EMAIL", r"(?i)\b[a-z0-9._%+-]+@(?:[a-z0-9-]+\.)+[a-z]{2,}\b"),
    _r("IP", r"(?<![\w.:])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"),
    _r("IP", r"(?i)(?<![\w:])(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}(?![\w:])"),
    _r("IP", r"(?i)(?<![\w:])(?:[0-9a-f]{1,4}:){1,6}:[0-9a-f]{1,4}(?::[0-9a-f]{1,4}){0,5}(?![\w:])"),
    _r("CARD", r"(?<![\w.-])(?:\d[ -]?){12,18}\d(?![\w-])"),
    _r("PHONE", r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}(?![\w])"),
    _r("PHONE", r"(?<![\w.-])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\w-])"),
)


def luhn_ok(digits: str) -> bool:
    """The card-number checksum: a random 16-digit number passes one time in ten, so it gates CARD."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def pattern_spans(text: str) -> Iterator[Span]:
    """Every rule's matches in `text` (overlaps are resolved by the firewall: earlier rules first)."""
    for rule in RULES:
        for m in rule.pattern.finditer(text):
            start, end = m.span(rule.group)
            if start < 0 or end <= start:
                continue
            if rule.kind == "CARD":
                digits = re.sub(r"\D", "", m.group(0))
                # Card numbers start with 2-6 (Mastercard, Amex, Visa, Discover...); nanosecond times start with 1.
                if not 13 <= len(digits) <= 19 or digits[0] not in "23456" or not luhn_ok(digits):
                    continue
            yield Span(start, end, rule.kind)
