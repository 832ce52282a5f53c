"""Paging for tool outputs: a limit and an opaque cursor, so an agent reads a long list a page at a time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from incidentlens.errors import InputError

__all__ = ["MAX_LIMIT", "page", "shorten"]

T = TypeVar("T")
MAX_LIMIT = 100
_PREFIX = "o"


def _offset(cursor: str | None, total: int) -> int:
    if cursor is None or cursor == "":
        return 0
    digits = cursor[len(_PREFIX) :] if cursor.startswith(_PREFIX) else ""
    if not digits.isdigit() or int(digits) > total:
        raise InputError(f"cursor {cursor!r} is not one this tool returned (pass next_cursor back unchanged)")
    return int(digits)


def page(items: Sequence[T], *, limit: int, cursor: str | None) -> tuple[list[T], dict[str, Any]]:
    """The slice `cursor` points at, at most `limit` long, and the paging fields to return with it."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InputError(f"limit must be from 1 to {MAX_LIMIT}, not {limit}")
    start = _offset(cursor, len(items))
    end = start + limit
    chunk = list(items[start:end])
    following = f"{_PREFIX}{end}" if end < len(items) else None
    return chunk, {"total": len(items), "next_cursor": following}


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with a marker saying how much was left out (never silently)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters]"
