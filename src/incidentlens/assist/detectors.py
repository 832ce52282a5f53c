"""Maintained detectors behind one shape, `(text) -> spans`: detect-secrets plugins and presidio recognisers.

Each vendor library is imported here only, lazily, with the extra to install named when it is missing.
detect-secrets: every plugin except the two high-entropy ones (they fire on trace and evidence ids); some
plugins report only the start of a token (GitHub: "ghp"), so a match is widened to the whole token.
presidio: its pattern recognisers only, over a blank spaCy pipeline (no NER model can be downloaded
offline, and the default engine tries to); the e-mail and URL recognisers are left out because they call
`tldextract`, which fetches the public-suffix list from the network.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

from incidentlens.assist.patterns import Span, pattern_spans
from incidentlens.assist.settings import Detector
from incidentlens.errors import ConfigError

__all__ = ["DetectorFn", "detector"]

DetectorFn = Callable[[str], Iterator[Span]]

_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-.+/=~]")
_DS_KINDS = {
    "AWS Access Key": "AWS_KEY",
    "Basic Auth Credentials": "PASSWORD",
    "JSON Web Token": "JWT",
    "Private Key": "PRIVATE_KEY",
    "Secret Keyword": "SECRET",
    "Public IP (ipv4)": "IP",
}
_PRESIDIO_KINDS = {
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IP_ADDRESS": "IP",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "CRYPTO": "API_KEY",
}
_PRESIDIO_MIN_SCORE = 0.4


def detector(kind: Detector) -> DetectorFn:
    """The detector's span finder; a ConfigError naming the extra when its library is not installed."""
    if kind is Detector.PATTERNS:
        return pattern_spans
    if kind is Detector.DETECT_SECRETS:
        _detect_secrets_plugins()
        return detect_secrets_spans
    _presidio_engine()
    return presidio_spans


@cache
def _detect_secrets_plugins() -> tuple[dict[str, str], ...]:
    try:
        from detect_secrets.core.plugins.util import get_mapping_from_secret_type_to_class
    except ImportError:
        raise ConfigError(
            "llm.detectors lists detect_secrets but it is not installed: pip install 'incidentlens[llm]'"
        ) from None
    classes: list[type] = list(get_mapping_from_secret_type_to_class().values())
    names = sorted(c.__name__ for c in classes)
    return tuple({"name": n} for n in names if "HighEntropy" not in n)


def detect_secrets_spans(text: str) -> Iterator[Span]:
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import transient_settings

    with transient_settings({"plugins_used": list(_detect_secrets_plugins())}):
        offset = 0
        for line in text.splitlines(keepends=True):
            for found in scan_line(line.rstrip("\r\n")):
                value = found.secret_value or ""
                if not value:
                    continue
                at = line.find(value)
                while at >= 0:
                    start, end = _widen(line, at, at + len(value))
                    yield Span(offset + start, offset + end, _DS_KINDS.get(found.type, "SECRET"))
                    at = line.find(value, end)
            offset += len(line)


def _widen(line: str, start: int, end: int) -> tuple[int, int]:
    while start > 0 and _TOKEN_CHAR.match(line[start - 1]):
        start -= 1
    while end < len(line) and _TOKEN_CHAR.match(line[end]):
        end += 1
    return start, end


@cache
def _presidio_engine() -> Any:
    try:
        import spacy
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NlpArtifacts  # noqa: F401 - checks the install is whole
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            CryptoRecognizer,
            IbanRecognizer,
            IpRecognizer,
            PhoneRecognizer,
            UsSsnRecognizer,
        )
    except ImportError:
        raise ConfigError(
            "llm.detectors lists presidio but it is not installed: pip install 'incidentlens[llm-presidio]'"
        ) from None
    registry = RecognizerRegistry(supported_languages=["en"])
    for recogniser in (
        CreditCardRecognizer,
        CryptoRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UsSsnRecognizer,
    ):
        registry.add_recognizer(recogniser())
    blank: Any = _BlankNlp(spacy.blank("en"))  # presidio's NlpEngine interface, duck-typed
    return AnalyzerEngine(registry=registry, nlp_engine=blank, supported_languages=["en"])


class _BlankNlp:
    """presidio's NLP-engine interface over a blank spaCy pipeline: tokens, no entities, nothing downloaded."""

    def __init__(self, nlp: Any) -> None:
        self.nlp = nlp

    def load(self) -> None:
        """Nothing to load: the pipeline is built in memory."""

    def is_loaded(self) -> bool:
        return True

    def process_text(self, text: str, language: str) -> Any:
        from presidio_analyzer.nlp_engine import NlpArtifacts

        doc = self.nlp(text)
        return NlpArtifacts(
            entities=[],
            tokens=doc,
            tokens_indices=[t.idx for t in doc],
            lemmas=[t.text.lower() for t in doc],
            nlp_engine=self,
            language=language,
        )

    def process_batch(self, texts: Any, language: str, **_: Any) -> Iterator[tuple[str, Any]]:
        for text in texts:
            yield text, self.process_text(text, language)

    def is_stopword(self, word: str, language: str) -> bool:
        return bool(self.nlp.vocab[word].is_stop)

    def is_punct(self, word: str, language: str) -> bool:
        return bool(self.nlp.vocab[word].is_punct)

    def get_supported_entities(self) -> list[str]:
        return []

    def get_supported_languages(self) -> list[str]:
        return ["en"]


def presidio_spans(text: str) -> Iterator[Span]:
    for result in _presidio_engine().analyze(text=text, language="en"):
        if result.score >= _PRESIDIO_MIN_SCORE and result.entity_type in _PRESIDIO_KINDS:
            yield Span(int(result.start), int(result.end), _PRESIDIO_KINDS[result.entity_type])
