"""Change events (deploys, config changes, feature-flag flips) in IncidentLens' own format -> change rows.

Encodings (told apart by content, gzip transparent):
  * JSON document: `{"changes": [ {...}, ... ]}`, a bare list `[ {...}, ... ]`, or a single object;
  * JSON lines: one change object per line;
  * YAML: a mapping with a `changes:` list, or a bare list of change mappings.

Fields of one change:
  kind         required: deploy | config | feature_flag; aliases deployment, rollout -> deploy;
               configuration -> config; flag, feature-flag -> feature_flag (any case)
  service      required: the changed service
  timestamp    required (aliases time, ts): RFC 3339 / ISO 8601 (no zone means UTC) or epoch
               s / ms / us / ns (told apart by magnitude); YAML timestamps are accepted as written
  description  what changed; when absent it is derived: "<key>: <previous> -> <current>" for config and
               flags, "<service>: <previous> -> <current>" for deploys
  author       who made it
  commit       the deployed commit sha
  version / current   the new version (deploy) or value (config, flag); `current` wins when both exist
  previous     the previous version or value
  key / flag   the config key or flag name (kept in attributes as "key" / "flag")
Non-string values (numbers, booleans, objects) are stored as JSON text ("true", "0.5", ...). Every other
field goes to the `attributes` JSON object.

A record without service or timestamp, with an unreadable timestamp, or with a missing or unknown kind is
reported with its position (line for JSON lines and YAML, `changes[i]` for JSON documents) and skipped;
the other records are kept. docs/formats/changes.md holds the same description with examples.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from incidentlens.errors import FormatError
from incidentlens.ingest.common import dumps, open_bytes, parse_time_ns, read_head
from incidentlens.ingest.prometheus import iter_json_documents
from incidentlens.ingest.sink import RowSink
from incidentlens.yamlsafe import load_yaml

KINDS = {
    "deploy": "deploy",
    "deployment": "deploy",
    "rollout": "deploy",
    "config": "config",
    "configuration": "config",
    "feature_flag": "feature_flag",
    "feature-flag": "feature_flag",
    "flag": "feature_flag",
}
_TIME_KEYS = ("timestamp", "time", "ts")
_KNOWN = frozenset({"kind", "service", "description", "author", "commit", "version", "current", "previous"})
_KIND_ALT = "|".join(re.escape(k) for k in KINDS)
_JSON_DOC_RE = re.compile(r'^\s*\{[\s\S]*?"changes"\s*:\s*\[')
_JSON_RECORD_RE = re.compile(rf'"kind"\s*:\s*"(?i:{_KIND_ALT})"')
_YAML_DOC_RE = re.compile(r"^changes\s*:", re.MULTILINE)
_YAML_RECORD_RE = re.compile(rf"^-\s+kind\s*:\s*[\"']?(?i:{_KIND_ALT})[\"']?\s*$", re.MULTILINE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _text(value: Any) -> str:
    """Column text: strings as they are, anything else as JSON text; None is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return dumps(value)


def _time_ns(value: Any) -> int | None:
    """Unix ns of a timestamp value, including the datetime/date objects YAML builds for bare timestamps."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return ((aware - _EPOCH) // timedelta(microseconds=1)) * 1_000
    if isinstance(value, date):
        return _time_ns(datetime(value.year, value.month, value.day, tzinfo=UTC))
    return parse_time_ns(value)


def change_row(record: Any) -> dict[str, Any]:
    """The change-table columns of one record; raises ValueError saying what is wrong with it."""
    if not isinstance(record, dict):
        raise ValueError(f"a change must be an object, not {type(record).__name__}")
    raw_kind = record.get("kind")
    if raw_kind is None or raw_kind == "":
        raise ValueError("missing 'kind'")
    kind = KINDS.get(str(raw_kind).strip().lower())
    if kind is None:
        raise ValueError(f"unknown kind {raw_kind!r} (expected deploy, config or feature_flag)")
    service = _text(record.get("service"))
    if not service:
        raise ValueError("missing 'service'")
    time_key = next((k for k in _TIME_KEYS if record.get(k) not in (None, "")), None)
    if time_key is None:
        raise ValueError("missing 'timestamp' (or 'time' / 'ts')")
    ts_ns = _time_ns(record[time_key])
    if ts_ns is None:
        raise ValueError(f"{time_key} {str(record[time_key])[:40]!r} is not a time")
    current = record["current"] if record.get("current") is not None else record.get("version")
    previous = _text(record.get("previous"))
    attributes = {str(k): v for k, v in record.items() if k not in _KNOWN and k not in _TIME_KEYS}
    if record.get("current") is not None and record.get("version") is not None:
        attributes["version"] = record["version"]
    description = _text(record.get("description"))
    if not description and (previous or current is not None):
        subject = _text(record.get("key") or record.get("flag")) if kind != "deploy" else service
        description = f"{subject or service}: {previous or '?'} -> {_text(current) or '?'}"
    return {
        "ts_ns": ts_ns,
        "service": service,
        "kind": kind,
        "description": description,
        "author": _text(record.get("author")),
        "commit": _text(record.get("commit")),
        "previous": previous,
        "current": _text(current),
        "attributes": dumps(attributes),
    }


def _json_records(path: Path, sink: RowSink) -> Iterator[tuple[Any, int | None, str]]:
    """(record, line, label) from a JSON document or JSON lines."""
    for position, value in iter_json_documents(path, sink):
        line = int(position[1:]) if position.startswith(":") else None
        if isinstance(value, dict) and "changes" in value:
            changes = value["changes"]
            if not isinstance(changes, list):
                raise FormatError(str(path), "'changes' is not a list", line=line)
            for index, record in enumerate(changes):
                yield record, line, f"changes[{index}]"
        elif position.startswith("#"):
            yield value, None, f"changes[{position[1:]}]"
        else:
            yield value, line, "change" if line else "changes[0]"


def _yaml_records(path: Path) -> Iterator[tuple[Any, int | None, str]]:
    """(record, line, label) from a YAML document; lines come from the composed node tree."""
    node, data = load_yaml(open_bytes(path).decode("utf-8", errors="replace"), str(path))
    if node is None:
        return  # an empty YAML file holds no changes
    sequence: Any = node
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        # The last `changes:` key wins, as it does in the constructed mapping.
        sequence = next((v for k, v in reversed(node.value) if getattr(k, "value", None) == "changes"), None)
        data = data.get("changes")
    if not isinstance(sequence, yaml.SequenceNode) or not isinstance(data, list):
        raise FormatError(str(path), "YAML change file must hold a 'changes:' list or a list of changes")
    lines = [item.start_mark.line + 1 for item in sequence.value] if len(sequence.value) == len(data) else []
    for index, record in enumerate(data):
        yield record, lines[index] if lines else None, f"changes[{index}]"


def read_changes(path: Path, sink: RowSink) -> None:
    """Every change record of the file as a row; invalid records are problems naming their position."""
    head = read_head(path).lstrip("\ufeff").lstrip()
    records = _json_records(path, sink) if head.startswith(("{", "[")) else _yaml_records(path)
    for record, line, label in records:
        try:
            row = change_row(record)
        except ValueError as exc:
            sink.problem(str(path), f"{label}: {exc}", line=line)
            continue
        source = f"{path}:{line}" if line is not None else f"{path}#{label}"
        sink.changes.add(**row, source=source)


class _ChangesReader:
    name = "changes"
    signals = ("changes",)

    def sniff(self, head: str, path: Path) -> bool:
        text = head.lstrip("\ufeff").lstrip()
        if text.startswith("{") and _JSON_DOC_RE.match(text):
            return True
        if text.startswith(("{", "[")):
            return bool(_JSON_RECORD_RE.search(text) and re.search(r'"service"\s*:', text))
        if _YAML_DOC_RE.search(text):
            return True
        return bool(_YAML_RECORD_RE.search(text) and re.search(r"^\s+service\s*:", text, re.MULTILINE))

    def read(self, path: Path, sink: RowSink) -> None:
        read_changes(path, sink)


READER = _ChangesReader()
