"""Save and load a miner's state as JSON: plain data only, validated field by field, never unpickled.

Masking rules are saved by name and resolved against the built-in rules (or the `rules` the caller passes)
on load, so a state file can never inject a regular expression.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from incidentlens.analyze.templates.masking import DEFAULT_RULES, MaskRule
from incidentlens.errors import FormatError

if TYPE_CHECKING:
    from incidentlens.analyze.templates.miner import TemplateMiner

FORMAT = "incidentlens.template-miner"
VERSION = 1
_SOURCE = "<template miner state>"


def dump_state(miner: TemplateMiner) -> bytes:
    """The miner's settings, templates (tokens, counts, sibling words), aliases and id counter as JSON."""
    rows, next_id, overflow_id = miner._snapshot()
    config = miner.config
    templates = []
    for template_id, tokens, count in rows:
        alternatives = miner._clusters[template_id].alternatives
        templates.append(
            {
                "id": template_id,
                "tokens": tokens,
                "count": count,
                "alternatives": {str(p): sorted(v) for p, v in sorted(alternatives.items())},
            }
        )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "config": {
            "similarity": config.similarity,
            "sibling_values": config.sibling_values,
            "header_confidence": config.header_confidence,
            "max_templates": config.max_templates,
            "max_cache_entries": config.max_cache_entries,
            "max_message_chars": config.max_message_chars,
            "rules": [rule.name for rule in config.rules],
        },
        "next_id": next_id,
        "overflow_id": overflow_id,
        "aliases": {str(k): v for k, v in sorted(miner._alias.items())},
        "templates": templates,
    }
    return orjson.dumps(document)


def _need(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise FormatError(_SOURCE, f"{where}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    return value


def _positive_int(value: Any, where: str) -> int:
    number: int = _need(value, int, where)
    if number < 1:
        raise FormatError(_SOURCE, f"{where}: must be at least 1, got {number}")
    return number


def load_state(data: bytes | str, rules: Sequence[MaskRule] | None = None) -> TemplateMiner:
    """Rebuild a miner from `dump_state` output; raises `FormatError` naming the first bad field."""
    from incidentlens.analyze.templates.miner import MinerConfig, TemplateMiner

    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FormatError(_SOURCE, f"not JSON ({exc})") from None
    _need(document, dict, "document")
    if document.get("format") != FORMAT:
        raise FormatError(_SOURCE, f"format: expected {FORMAT!r}, got {document.get('format')!r}")
    if document.get("version") != VERSION:
        raise FormatError(_SOURCE, f"version: expected {VERSION}, got {document.get('version')!r}")
    raw = _need(document.get("config"), dict, "config")
    known = {rule.name: rule for rule in (rules if rules is not None else DEFAULT_RULES)}
    names = _need(raw.get("rules"), list, "config.rules")
    missing = [name for name in names if name not in known]
    if missing:
        raise FormatError(_SOURCE, f"config.rules: unknown masking rules {missing}; pass them as `rules`")
    similarity = _need(raw.get("similarity"), (int, float), "config.similarity")
    if not 0.0 <= similarity <= 1.0:
        raise FormatError(_SOURCE, f"config.similarity: must be within [0, 1], got {similarity}")
    defaults = MinerConfig()
    sibling_values = _positive_int(raw.get("sibling_values", defaults.sibling_values), "config.sibling_values")
    header_confidence = _need(
        raw.get("header_confidence", defaults.header_confidence), (int, float), "config.header_confidence"
    )
    if not 0.0 <= header_confidence <= 1.0:
        raise FormatError(_SOURCE, f"config.header_confidence: must be within [0, 1], got {header_confidence}")
    config = MinerConfig(
        similarity=float(similarity),
        sibling_values=sibling_values,
        header_confidence=float(header_confidence),
        max_templates=_positive_int(raw.get("max_templates"), "config.max_templates"),
        max_cache_entries=_positive_int(raw.get("max_cache_entries"), "config.max_cache_entries"),
        max_message_chars=_positive_int(raw.get("max_message_chars"), "config.max_message_chars"),
        rules=tuple(known[name] for name in names),
    )
    next_id = _positive_int(document.get("next_id"), "next_id")
    overflow = document.get("overflow_id")
    overflow_id = None if overflow is None else _positive_int(overflow, "overflow_id")
    clusters: list[tuple[int, list[str], int]] = []
    alternatives: dict[int, dict[int, set[str]]] = {}
    seen: set[int] = set()
    for n, item in enumerate(_need(document.get("templates"), list, "templates")):
        where = f"templates[{n}]"
        _need(item, dict, where)
        template_id = _positive_int(item.get("id"), f"{where}.id")
        if template_id in seen or template_id >= next_id:
            raise FormatError(_SOURCE, f"{where}.id: {template_id} is duplicated or not below next_id")
        seen.add(template_id)
        tokens = [_need(t, str, f"{where}.tokens") for t in _need(item.get("tokens"), list, f"{where}.tokens")]
        count = _need(item.get("count"), int, f"{where}.count")
        if count < 0:
            raise FormatError(_SOURCE, f"{where}.count: negative")
        alts: dict[int, set[str]] = {}
        for key, values in _need(item.get("alternatives", {}), dict, f"{where}.alternatives").items():
            if not key.isdigit() or int(key) >= len(tokens):
                raise FormatError(_SOURCE, f"{where}.alternatives: position {key!r} outside the template")
            alts[int(key)] = {_need(v, str, f"{where}.alternatives") for v in _need(values, list, where)}
        clusters.append((template_id, tokens, count))
        alternatives[template_id] = alts
    if overflow_id is not None and overflow_id not in seen:
        raise FormatError(_SOURCE, f"overflow_id: {overflow_id} is not a template")
    aliases: dict[int, int] = {}
    for key, value in _need(document.get("aliases", {}), dict, "aliases").items():
        if not key.isdigit() or _positive_int(value, f"aliases[{key}]") not in seen:
            raise FormatError(_SOURCE, f"aliases: {key!r} -> {value!r} does not point at a template")
        aliases[int(key)] = value
    miner = TemplateMiner(config)
    miner._restore(clusters, next_id, overflow_id)
    for template_id, alts in alternatives.items():
        miner._clusters[template_id].alternatives = alts
    miner._alias.update(aliases)
    return miner
