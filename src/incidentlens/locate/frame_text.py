"""A pasted stack trace, frame line or logger reference -> the frames and loggers `locate_code` looks up."""

from __future__ import annotations

from incidentlens.analyze.stackframes import PY_FRAME, at_frame, python_frame
from incidentlens.analyze.stacktraces import parse_stacktrace
from incidentlens.errors import InputError
from incidentlens.locate.loggers import parse_logger_ref
from incidentlens.model.stack import Frame


def frames_from_text(text: str, *, label: str = "--frame") -> tuple[list[Frame], list[str]]:
    """A pasted trace or frame line -> frames; a logger reference (`c.s.Impl#31`, `x.go:7`) -> loggers."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 1:
        trace = parse_stacktrace(text)
        if trace is not None and trace.all_frames():
            return list(trace.all_frames()), []
    line = lines[0] if lines else ""
    py = PY_FRAME.match(line)
    if py is not None:
        return [python_frame(py)], []
    classified = at_frame(line)
    if classified is not None:
        return [classified[1]], []
    if parse_logger_ref(line) is not None:
        return [], [line.strip()]
    raise InputError(
        f'{label} {line[:80]!r}: not a stack frame (`at a.B.c(B.java:3)`, `File "x.py", line 3, in f`) '
        "or a location (`c.s.ContactsServiceImpl#31`, `payment.charge:42`, `main.go:23`)"
    )
