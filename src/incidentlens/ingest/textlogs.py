"""Plain-text logs, the fallback reader: one record per header line plus its continuation lines.

A line continues the previous record when it starts with whitespace or a stack-trace marker
(`Traceback`, `Caused by:`, `---> `, `... N more`, `goroutine `...), or, in a file whose lines mostly
start with a timestamp ("headed"), when it has none. So a multi-line stack trace stays one record with
parsed frames. Lines are streamed; a record keeps at most `MAX_RECORD_LINES` lines / `MAX_RECORD_CHARS`.
CRI-wrapped lines (`<ts> stdout F <msg>`) are unwrapped first. Header heuristics: see `textheader`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from incidentlens.analyze.stacktraces import find_stacktrace, parse_stacktrace
from incidentlens.ingest.common import dumps, iter_lines, read_head
from incidentlens.ingest.container import PartialJoiner, parse_cri, service_from_path
from incidentlens.ingest.sink import RowSink
from incidentlens.ingest.textheader import Clock, Header, parse_header

MAX_RECORD_LINES = 2000
MAX_RECORD_CHARS = 1 << 20
HEADED_RATIO = 0.5
_CONTINUATION_STARTS = (
    "Traceback (most recent call last)",
    "Caused by:",
    "---> ",
    "... ",
    "goroutine ",
    "During handling of the above exception",
    "The above exception was the direct cause",
    "Suppressed:",
    "--- End of",
    "created by ",
    "[signal ",
)
_GO_FUNCTION_LINE = re.compile(r"(?:created by )?[^\s(]+(?:\(.*\))?(?: in goroutine \d+)?")
_EXCEPTION_LINE = re.compile(r"(?:Exception in thread |[\w$]+(?:\.[\w$]+)+(?::|$)|[A-Z]\w*(?:Error|Exception)\b)")
_EMPTY_ATTRS = "{}"
_NO_FRAMES = "[]"


class TextAssembler:
    """Groups lines into records and writes them to the sink; feed lines in order, then `close()`."""

    def __init__(self, path: Path, sink: RowSink, *, service: str, clock: Clock, headed: bool | None) -> None:
        """`headed=None` decides per stream: headed from the first line that has a timestamp."""
        self.path, self.sink, self.service, self.clock = path, sink, service, clock
        self.headed = bool(headed)
        self._adaptive = headed is None
        self._src = str(path)
        self._header: Header | None = None
        self._first_line = 0
        self._extra: dict[str, Any] | None = None
        self._cont: list[str] = []
        self._cont_chars = 0
        self._dropped = 0
        self._py_open = False  # inside a Python traceback whose unindented exception line is still to come
        self._go_open = False  # inside a goroutine dump whose function lines are unindented

    def feed(self, lineno: int, line: str, *, ts_ns: int | None = None, extra: dict[str, Any] | None = None) -> None:
        """One line; `ts_ns` and `extra` come from a container wrapper when there is one."""
        first = line[:1]
        if first in (" ", "\t") or (not first and self._header is not None and self.headed):
            self._continue(lineno, line)
            return
        header = parse_header(line, self.clock)
        if header is None:
            stripped = line.lstrip()
            if not stripped:
                return
            if self._has_record() and (
                self.headed
                or self._py_open
                or stripped.startswith(_CONTINUATION_STARTS)
                or (self._go_open and _GO_FUNCTION_LINE.fullmatch(stripped) is not None)
            ):
                self._py_open = stripped.startswith("Traceback (most recent call last)")
                self._go_open = self._go_open or stripped.startswith("goroutine ")
                self._continue(lineno, line)
                return
            header = Header(0, False, body=line)
        elif self._adaptive:
            self.headed = True
        if ts_ns is not None and (not header.full_date or header.ts_ns == 0):
            header.ts_ns = ts_ns  # the container runtime's clock has the date a bare time of day lacks
        self.flush()
        self._py_open = line.lstrip().startswith("Traceback (most recent call last)")
        self._go_open = False
        self._header, self._first_line, self._extra = header, lineno, extra

    def _has_record(self) -> bool:
        return self._header is not None

    def _continue(self, lineno: int, line: str) -> None:
        if self._header is None:
            if not line.strip():
                return  # blank space before any record belongs to nothing
            self._header, self._first_line, self._extra = Header(0, False, body=line), lineno, None
            return
        if len(self._cont) >= MAX_RECORD_LINES or self._cont_chars + len(line) > MAX_RECORD_CHARS:
            self._dropped += 1
            return
        self._cont.append(line)
        self._cont_chars += len(line) + 1

    def flush(self) -> None:
        """Write the pending record, if any."""
        header = self._header
        if header is None:
            return
        self._header = None
        attrs = header.attributes
        if self._extra:
            attrs = {**self._extra, **attrs}
        body = header.body
        exception_type, frames = "", _NO_FRAMES
        if self._cont:
            while self._cont and not self._cont[-1].strip():
                self._cont.pop()
            body = "\n".join([body, *self._cont]) if body else "\n".join(self._cont)
            self._cont = []
            self._cont_chars = 0
        if "\n" in body:
            found = find_stacktrace(body)
            trace = found.trace if found else None
        else:
            trace = parse_stacktrace(body) if 'Exception in thread "' in body else None
        if trace is not None:
            exception_type, frames = trace.exception_type, dumps(trace.frames_json())
            if trace.cause is not None:
                attrs = {**attrs, "exception.root_cause_type": trace.root_cause().exception_type}
        if self._dropped:
            self.sink.problem(
                self._src, f"record longer than {MAX_RECORD_LINES} lines or {MAX_RECORD_CHARS} characters; "
                f"{self._dropped} continuation line(s) dropped", line=self._first_line,
            )  # fmt: skip
            attrs = {**attrs, "dropped_lines": self._dropped}
            self._dropped = 0
        if not header.ts_ns and self.sink.require_time:
            self.sink.problem(self._src, "no timestamp: the line cannot be placed in time", line=self._first_line)
            return
        self.sink.logs.add(
            ts_ns=header.ts_ns,
            service=header.service or self.service,
            level=header.level,
            body=body,
            trace_id=header.trace_id,
            span_id=header.span_id,
            logger=header.logger,
            exception_type=exception_type,
            frames=frames,
            attributes=dumps(attrs) if attrs else _EMPTY_ATTRS,
            source=f"{self._src}:{self._first_line}",
        )

    def close(self) -> None:
        self.flush()


def mtime_clock(path: Path) -> Clock:
    """The anchor for dates a line lacks: the file's modification time."""
    return Clock(path.stat().st_mtime_ns)


def is_headed(head: str, clock: Clock, *, sample: int = 400) -> bool:
    """Whether most record-starting lines of the head begin with a timestamp (after CRI unwrapping).

    Lines that are continuations whatever the mode (indented, trace markers, exception headers) are
    left out of the count, so a file full of stack traces is still recognised as timestamped.
    """
    total = stamped = 0
    joiner = PartialJoiner()
    for index, line in enumerate(head.splitlines()[:sample]):
        piece = parse_cri(line)
        if piece is not None:
            whole, _ = joiner.add(index, piece)
            if whole is None:
                continue
            line = whole.text
        stripped = line.lstrip()
        if not stripped or line[:1] in (" ", "\t") or stripped.startswith(_CONTINUATION_STARTS):
            continue
        if _EXCEPTION_LINE.match(stripped):
            continue
        total += 1
        if parse_header(line, clock) is not None:
            stamped += 1
    return total > 0 and stamped / total >= HEADED_RATIO


class _TextReader:
    """FormatReader for plain text; registered last because it accepts any text."""

    name = "textlogs"
    signals: tuple[str, ...] = ("logs",)

    def sniff(self, head: str, path: Path) -> bool:
        """Any non-empty text whose first non-blank character does not open JSON."""
        stripped = head.lstrip()
        return bool(stripped) and stripped[0] not in "{[" and "\x00" not in head[:4096]

    def read(self, path: Path, sink: RowSink) -> None:
        clock = mtime_clock(path)
        assembler = TextAssembler(
            path, sink, service=service_from_path(path), clock=clock, headed=is_headed(read_head(path), clock)
        )
        joiner = PartialJoiner()
        for lineno, line in iter_lines(path, sink):
            piece = parse_cri(line) if line[:1].isdigit() else None
            if piece is None:
                assembler.feed(lineno, line)
                continue
            whole, capped = joiner.add(lineno, piece)
            if capped:
                sink.problem(str(path), "CRI partial line too long; split", line=lineno)
            if whole is not None:
                assembler.feed(whole.line, whole.text, ts_ns=whole.ts_ns, extra={"stream": whole.stream})
        for whole in joiner.flush():
            assembler.feed(whole.line, whole.text, ts_ns=whole.ts_ns, extra={"stream": whole.stream})
        assembler.close()


READER = _TextReader()
