"""Parsed stack traces: frozen records shared by ingest (frames column), analyze and locate.

Frames keep the order the runtime printed them. Because Python prints the innermost call last and the
other runtimes print it first, helpers that care about "where it was thrown" use `innermost_first()`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Language(StrEnum):
    PYTHON = "python"
    JAVA = "java"
    GO = "go"
    NODE = "node"
    DOTNET = "dotnet"


@dataclass(frozen=True, slots=True)
class Frame:
    """One printed frame. `line` is None when the runtime printed no line (native, no PDB)."""

    file: str
    line: int | None
    function: str
    module: str = ""
    column: int | None = None
    is_library: bool = False

    def to_json(self) -> dict[str, Any]:
        """The frames-column shape: {file, line, function, module} plus `library`."""
        return {
            "file": self.file,
            "line": self.line,
            "function": self.function,
            "module": self.module,
            "library": self.is_library,
        }


@dataclass(frozen=True, slots=True)
class StackTrace:
    """One exception with its frames; `cause` is the exception it wraps (Caused by, ---> , from e)."""

    language: Language
    exception_type: str
    message: str
    frames: tuple[Frame, ...]
    cause: StackTrace | None = None
    suppressed: tuple[StackTrace, ...] = ()

    def chain(self) -> Iterator[StackTrace]:
        """This exception, then its cause, then the cause's cause (outermost to root cause)."""
        node: StackTrace | None = self
        while node is not None:
            yield node
            node = node.cause

    def root_cause(self) -> StackTrace:
        """The innermost exception: where the failure started."""
        *_, last = self.chain()
        return last

    def innermost_first(self) -> tuple[Frame, ...]:
        """Frames from the throwing call outwards, whatever the runtime's print order."""
        if self.language is Language.PYTHON:
            return tuple(reversed(self.frames))
        return self.frames

    def app_frames(self) -> tuple[Frame, ...]:
        """Frames of application code (not stdlib, runtime or third-party), innermost first."""
        return tuple(f for f in self.innermost_first() if not f.is_library)

    def first_app_frame(self) -> Frame | None:
        """The application frame nearest the throw point, searched from the root cause outwards.

        The root cause is where the defect usually is; Java's "... N more" elides its outer frames, so
        when the root cause has no app frame we fall back to the wrapping exceptions.
        """
        for trace in reversed(list(self.chain())):
            frames = trace.app_frames()
            if frames:
                return frames[0]
        return None

    def all_frames(self) -> tuple[Frame, ...]:
        """Every frame of the chain, root cause first, each exception's frames in printed order."""
        out: list[Frame] = []
        for trace in reversed(list(self.chain())):
            out.extend(trace.frames)
        return tuple(out)

    def signature(self) -> str:
        """A 16-hex fingerprint grouping occurrences of the same failure.

        Built from each exception type in the chain and the (file basename, function) of its app
        frames. Line numbers and messages are left out on purpose: an unrelated edit above a function
        shifts every line number, and messages carry ids, so either would split one failure into many.
        Library frames are left out because dependency upgrades reshuffle them.
        """
        parts: list[str] = []
        for trace in self.chain():
            parts.append(trace.exception_type)
            parts.extend(f"{_basename(f.file)}:{f.function}" for f in trace.app_frames())
            parts.append("|")
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def frames_json(self) -> list[dict[str, Any]]:
        """`all_frames()` in the frames-column shape."""
        return [f.to_json() for f in self.all_frames()]


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]
