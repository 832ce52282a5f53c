"""The `llm:` settings section: off by default, clear errors naming the key, trust only for local models."""

from __future__ import annotations

import pytest

from incidentlens.assist.settings import Detector, ProviderKind, assist_settings
from incidentlens.errors import ConfigError
from incidentlens.workflow.config import parse_settings


def _parse(text: str) -> object:
    return assist_settings(parse_settings(text))


def test_no_section_or_enabled_false_means_no_model() -> None:
    assert _parse("users: {}\n") is None
    assert _parse("llm: {enabled: false, provider: openai, model: x}\n") is None


def test_a_full_section_is_read_with_its_defaults() -> None:
    chosen = assist_settings(
        parse_settings(
            "llm:\n  provider: anthropic\n  model: claude-x\n  budget: {tokens: 5000, cost: 0.2}\n"
            "  prices: {input_per_million: 3, output_per_million: 15}\n  names: [Acme]\n"
        )
    )
    assert chosen is not None
    assert chosen.provider is ProviderKind.ANTHROPIC and chosen.base_url == "https://api.anthropic.com"
    assert chosen.budget_tokens == 5000 and chosen.budget_cost == 0.2 and chosen.names == ("Acme",)
    assert chosen.detectors == (Detector.PATTERNS, Detector.DETECT_SECRETS) and chosen.redact
    assert chosen.cost(1_000_000, 1_000_000) == 18.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("llm: {provider: gpt, model: x}", "'llm.provider' has 'gpt'; allowed: openai, anthropic"),
        ("llm: {provider: openai}", "'llm.model' is required"),
        ("llm: {provider: openai, model: x, base_url: 'ftp://h'}", "must be an http(s) URL"),
        ("llm: {provider: openai, model: x, base_url: 'http://u:p@h/v1'}", "must not hold credentials"),
        ("llm: {provider: openai, model: x, trusted: true, base_url: 'https://api.example/v1'}", "only for a model"),
        ("llm: {provider: openai, model: x, redact: false}", "needs 'trusted: true'"),
        ("llm: {provider: openai, model: x, detectors: [detect_secrets]}", "must include 'patterns'"),
        ("llm: {provider: openai, model: x, budget: {tokens: 0}}", "'llm.budget.tokens' must be a number"),
        ("llm: {provider: openai, model: x, colour: red}", "unknown key(s) colour"),
    ],
)
def test_mistakes_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)").replace("'", "'")):
        _parse(text)


def test_a_localhost_model_may_be_trusted_and_see_unredacted_text() -> None:
    chosen = assist_settings(
        parse_settings(
            "llm: {provider: openai, model: x, base_url: 'http://127.0.0.1:11434/v1', trusted: true, redact: false}"
        )
    )
    assert chosen is not None and chosen.trusted and not chosen.redact
