"""A connection to ClickHouse that runs one SQL statement and returns rows: over HTTP with the official
`clickhouse-connect` client, or in process with `chdb` (embedded ClickHouse) for a `chdb:PATH` URL.

Both vendor libraries are imported here and nowhere else, lazily, so core code works without the
`clickhouse` extra; a missing one fails with the install command. Queries are plain SQL text: every value
that goes into them passes through `literal()`, so there is one quoting rule whatever the transport.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import unquote, urlsplit

from incidentlens.errors import ConfigError, SourceError

INSTALL_HINT = "pip install 'incidentlens[clickhouse]'"


class ClickHouseConnection(Protocol):
    """Runs one statement; `rows` returns the result as tuples (an error is a `SourceError`)."""

    target: str  # where it points, without credentials

    def rows(self, sql: str) -> list[tuple[Any, ...]]: ...

    def command(self, sql: str) -> None: ...

    def close(self) -> None: ...


def literal(value: str | int | float | None) -> str:
    """A ClickHouse SQL literal: strings quoted with backslash escapes, numbers as themselves, NULL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, float):
        return repr(float(value))
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(name: str) -> str:
    """A quoted identifier (`db`.`table` stays two parts)."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in name.split("."))


class ChdbConnection:
    """Embedded ClickHouse (chdb) on a database directory. chdb allows one open session per process, so
    sessions on one path are shared and counted, and statements are serialised."""

    _lock = threading.Lock()
    _open: ClassVar[dict[str, tuple[Any, int]]] = {}  # path -> (session, users), shared by design

    def __init__(self, path: Path) -> None:
        try:
            from chdb import session
        except ImportError:
            raise ConfigError(f"a chdb: URL needs the chdb package: {INSTALL_HINT}") from None
        self.path = str(path.resolve())
        self.target = f"chdb:{path}"
        with self._lock:
            held = self._open.get(self.path)
            if held is None and self._open:
                other = next(iter(self._open))
                raise SourceError(f"chdb: {other} is already open in this process; chdb allows one database at a time")
            if held is None:
                try:
                    held = (session.Session(self.path), 0)  # type: ignore[no-untyped-call]  # chdb ships no hints
                except Exception as exc:  # chdb raises its own and RuntimeError; report both the same way
                    raise SourceError(f"{self.target}: cannot open ({exc})") from None
            self._open[self.path] = (held[0], held[1] + 1)
            self._session = held[0]
        self._closed = False

    @property
    def session(self) -> Any:
        """The chdb session (one per process): for a local server that must share it (tests)."""
        return self._session

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                table = self._session.query(sql, "ArrowTable")
            except Exception as exc:
                raise SourceError(f"{self.target}: query failed: {_first_line(exc)}") from None
        columns = [column.to_pylist() for column in table.columns]
        return list(zip(*columns, strict=True)) if columns else []

    def command(self, sql: str) -> None:
        with self._lock:
            try:
                self._session.query(sql)
            except Exception as exc:
                raise SourceError(f"{self.target}: statement failed: {_first_line(exc)}") from None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock:
            held = self._open.get(self.path)
            if held is None:
                return
            if held[1] <= 1:
                del self._open[self.path]
                held[0].close()
            else:
                self._open[self.path] = (held[0], held[1] - 1)


class HttpConnection:
    """A ClickHouse server over its HTTP interface, through `clickhouse-connect`."""

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        database: str | None = None,
        timeout_seconds: float = 60.0,
        verify: bool | str = True,
        settings: dict[str, Any] | None = None,
    ) -> None:
        try:
            import clickhouse_connect
        except ImportError:
            raise ConfigError(f"a ClickHouse source needs clickhouse-connect: {INSTALL_HINT}") from None
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"ClickHouse URL {url!r}: expected http(s)://host:port/database or chdb:PATH")
        self.target = f"{parts.scheme}://{parts.hostname}:{parts.port or (8443 if parts.scheme == 'https' else 8123)}"
        db = database or unquote(parts.path.strip("/")) or None
        try:
            self._client = clickhouse_connect.get_client(
                host=parts.hostname,
                port=parts.port or (8443 if parts.scheme == "https" else 8123),
                username=username or unquote(parts.username or "") or "default",
                password=password or unquote(parts.password or ""),
                database=db or "",
                secure=parts.scheme == "https",
                verify=bool(verify),
                ca_cert=verify if isinstance(verify, str) else None,
                connect_timeout=min(timeout_seconds, 10.0),
                send_receive_timeout=timeout_seconds,
                settings=settings or {},
                autogenerate_session_id=False,
            )
        except Exception as exc:  # clickhouse-connect raises OperationalError/DatabaseError and socket errors
            raise SourceError(f"{self.target}: cannot connect ({_first_line(exc)})") from None

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self._client.query(sql).result_rows]
        except Exception as exc:
            raise SourceError(f"{self.target}: query failed: {_first_line(exc)}") from None

    def command(self, sql: str) -> None:
        try:
            self._client.command(sql)
        except Exception as exc:
            raise SourceError(f"{self.target}: statement failed: {_first_line(exc)}") from None

    def close(self) -> None:
        self._client.close()


def connect(
    url: str,
    *,
    username: str | None = None,
    password: str | None = None,
    timeout_seconds: float = 60.0,
    verify: bool | str = True,
) -> ClickHouseConnection:
    """`chdb:PATH` (embedded, a database directory) or `http(s)://host:port[/database]` (a server)."""
    if url.startswith("chdb:"):
        path = url.removeprefix("chdb:").removeprefix("//")
        if not path:
            raise ConfigError("chdb: URL needs a database directory, for example chdb:/var/lib/otel-chdb")
        return ChdbConnection(Path(path))
    return HttpConnection(url, username=username, password=password, timeout_seconds=timeout_seconds, verify=verify)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:500]


def column_names(conn: ClickHouseConnection, table: str) -> Sequence[str]:
    """The columns of `table` (DESC TABLE), empty when it does not exist."""
    try:
        return [str(r[0]) for r in conn.rows(f"DESC TABLE {identifier(table)}")]
    except SourceError as exc:
        if "UNKNOWN_TABLE" in str(exc) or "UNKNOWN_DATABASE" in str(exc) or "doesn't exist" in str(exc):
            return []
        raise
