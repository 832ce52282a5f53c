"""Portable column types: UTC-aware datetimes and StrEnum values stored as plain strings."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

E = TypeVar("E", bound=StrEnum)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Always UTC-aware in Python; SQLite has no time zones, so it stores naive UTC and we re-attach UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            # A naive datetime is ambiguous; refusing it keeps local-time bugs out of the ledger.
            raise ValueError(f"naive datetime {value.isoformat()} given where a UTC time is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnumText(sa.types.TypeDecorator[E], Generic[E]):
    """A StrEnum stored as its value in a VARCHAR: new members need no schema change or native enum type."""

    impl = sa.String(32)
    cache_ok = True

    def __init__(self, enum: type[E], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum(value)
