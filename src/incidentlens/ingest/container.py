"""Container log wrappers: CRI (containerd, CRI-O) and Docker json-file lines -> the application's lines.

Both runtimes split long output into partial pieces (CRI tag `P`, Docker a `log` without trailing newline);
`PartialJoiner` glues them back per stream, with a size cap so a never-ending partial cannot grow memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from incidentlens.ingest.common import MAX_LINE_BYTES, parse_time_ns

_CRI = re.compile(r"^(?P<ts>\d{4}-\d{2}-\d{2}T\S+) (?P<stream>stdout|stderr) (?P<tag>[PF])(?: (?P<msg>.*))?$")
_DOCKER_KEYS = frozenset({"log", "stream", "time", "attrs"})
_POD_LOG = re.compile(r"/var/log/pods/[^/]+/(?P<container>[^/]+)/\d+\.log(?:\.[\w.-]+)?$")
_CONTAINERS_LOG = re.compile(r"/var/log/containers/[^_/]+_[^_/]+_(?P<container>.+)-[0-9a-f]{64}\.log$")


@dataclass(frozen=True, slots=True)
class Piece:
    """One physical wrapper line: a piece of an application line."""

    ts_ns: int | None
    stream: str
    text: str
    final: bool
    wrapper: str  # "cri" or "docker"


@dataclass(frozen=True, slots=True)
class Unwrapped:
    """One whole application line; `line` is the physical line of its first piece."""

    line: int
    ts_ns: int | None
    stream: str
    text: str
    wrapper: str


def looks_like_cri(line: str) -> bool:
    """Cheap pre-check before the regex: CRI lines start with an RFC 3339 date and a stream name."""
    return len(line) > 32 and line[4] == "-" and line[10] == "T" and (" stdout " in line or " stderr " in line)


def parse_cri(line: str) -> Piece | None:
    """`<RFC3339Nano> <stdout|stderr> <P|F> <message>` -> Piece, or None when the line is not CRI."""
    if not looks_like_cri(line):
        return None
    m = _CRI.match(line)
    if m is None:
        return None
    return Piece(_time(m["ts"]), m["stream"], m["msg"] or "", m["tag"] == "F", "cri")


def parse_docker(obj: Any) -> Piece | None:
    """A Docker json-file record `{"log", "stream", "time"}` -> Piece, or None for any other object."""
    if not isinstance(obj, dict) or "log" not in obj or not isinstance(obj["log"], str):
        return None
    if not obj.keys() <= _DOCKER_KEYS or ("stream" not in obj and "time" not in obj):
        return None
    text: str = obj["log"]
    final = text.endswith("\n")  # Docker splits lines over 16 KiB; only the last piece ends in a newline
    return Piece(_time(obj.get("time")), str(obj.get("stream", "")), text.rstrip("\r\n"), final, "docker")


def _time(value: Any) -> int | None:
    """The wrapper's timestamp, or None when unparseable or outside the BIGINT column's range."""
    ts = parse_time_ns(value)
    return ts if ts is not None and -(2**63) <= ts < 2**63 else None


class PartialJoiner:
    """Joins partial pieces per stream until the final piece; yields whole application lines."""

    def __init__(self, max_chars: int = MAX_LINE_BYTES) -> None:
        self._max = max_chars
        self._open: dict[str, tuple[int, Piece, list[str], int]] = {}

    def add(self, lineno: int, piece: Piece) -> tuple[Unwrapped | None, bool]:
        """The completed line, if this piece completes one, and whether the joined line hit the cap."""
        pending = self._open.pop(piece.stream, None)
        if pending is None:
            if piece.final:
                return Unwrapped(lineno, piece.ts_ns, piece.stream, piece.text, piece.wrapper), False
            self._open[piece.stream] = (lineno, piece, [piece.text], len(piece.text))
            return None, False
        first_line, first, parts, size = pending
        parts.append(piece.text)
        size += len(piece.text)
        if piece.final or size >= self._max:
            joined = "".join(parts)
            return Unwrapped(first_line, first.ts_ns, first.stream, joined, first.wrapper), not piece.final
        self._open[piece.stream] = (first_line, first, parts, size)
        return None, False

    def flush(self) -> list[Unwrapped]:
        """Lines whose final piece never came (file cut mid-line): kept, not dropped."""
        out = [
            Unwrapped(first_line, first.ts_ns, first.stream, "".join(parts), first.wrapper)
            for first_line, first, parts, _ in self._open.values()
        ]
        self._open.clear()
        return sorted(out, key=lambda u: u.line)


def service_from_path(path: Path) -> str:
    """The container name from Kubernetes log paths, else the file stem (logs/payment.log -> payment)."""
    text = path.as_posix()
    for pattern in (_POD_LOG, _CONTAINERS_LOG):
        m = pattern.search(text)
        if m:
            return m["container"]
    name = path.name
    for suffix in (".gz", ".log", ".jsonl", ".ndjson", ".json", ".txt"):
        name = name.removesuffix(suffix)
    return name or path.stem
