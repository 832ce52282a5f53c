"""Opening the workflow database: engine, SQLite pragmas, migrations on open, transactional sessions."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import CommandError
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from incidentlens.errors import StoreError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_WORKSPACE = Path(".incidentlens")
DATABASE_FILE = "incidentlens.db"
BUSY_TIMEOUT_MS = 10_000
_BEGIN_OPTION = "incidentlens_sqlite_begin"
MIGRATION_LOCK_KEY = 0x1CD1E175  # a fixed advisory lock id held while the schema is migrated
_DRIVER_HINTS = {"postgresql": "pip install 'incidentlens[postgres]'"}


class Database:
    """An open workflow database. `session()` is the unit of work: one transaction per block."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writer = sessionmaker(engine, expire_on_commit=False)
        # SQLite readers take no write lock (BEGIN DEFERRED); writers take it up front (BEGIN IMMEDIATE)
        # so a read-then-write transaction cannot fail half-way with SQLITE_BUSY.
        self._reader = sessionmaker(engine.execution_options(**{_BEGIN_OPTION: "DEFERRED"}), expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password hidden: safe for messages and logs."""
        return self._engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """Yield a session in one transaction: committed on success, rolled back on any error."""
        factory = self._reader if readonly else self._writer
        try:
            with factory.begin() as session:
                yield session
        except sa.exc.SQLAlchemyError as exc:
            raise StoreError(f"database {self.url}: {_reason(exc)}") from exc
        except UnstorableJSONError as exc:  # psycopg serialises JSON itself, outside SQLAlchemy's wrapping
            raise StoreError(f"database {self.url}: {exc}") from exc

    def dispose(self) -> None:
        """Close every pooled connection (and SQLite file handle)."""
        self._engine.dispose()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.dispose()


def default_url(workspace: Path) -> str:
    """`sqlite:///<workspace>/incidentlens.db`, with the workspace made absolute."""
    return URL.create("sqlite", database=str(workspace.resolve() / DATABASE_FILE)).render_as_string()


def open_database(url: str | None = None, *, workspace: Path | None = None) -> Database:
    """Open (creating if needed) the workflow database and bring its schema to the latest migration.

    Without a URL the database is `incidentlens.db` in the workspace (default `./.incidentlens`),
    whose directory is created.
    """
    if url is None:
        ws = workspace if workspace is not None else DEFAULT_WORKSPACE
        try:
            ws.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create workspace {ws}: {exc.strerror or exc}") from exc
        url = default_url(ws)
    engine = _create_engine(url)
    try:
        with engine.connect() as connection:
            migrate(connection, "head")
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        raise StoreError(f"cannot open database {_shown(url)}: {_reason(exc)}{_disk_hint(url)}") from exc
    except CommandError as exc:
        engine.dispose()
        # Typically a revision this version does not know: the database was migrated by a newer release.
        raise StoreError(f"cannot open database {_shown(url)}: schema migration failed: {exc}") from exc
    except StoreError:
        engine.dispose()
        raise
    return Database(engine)


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config built in code: users need no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def migrate(connection: Connection, revision: str, *, downgrade: bool = False) -> None:
    """Upgrade (or downgrade) the schema on this connection to `revision`, then commit."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Table rebuilds in SQLite batch migrations must not fire FK actions; checked once at the end.
        # The pragma is a no-op inside a transaction, so it goes to the driver outside SQLAlchemy's.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    try:
        if connection.dialect.name == "postgresql":
            # Replicas starting together on one database: one migrates, the others wait, then find it done.
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
        config = alembic_config(connection)
        if downgrade:
            command.downgrade(config, revision)
        else:
            command.upgrade(config, revision)
        if connection.in_transaction():
            connection.commit()
        if sqlite:
            broken = _sqlite_pragma(connection, "PRAGMA foreign_key_check")
            if broken:
                raise StoreError(f"migration to {revision} left rows with broken foreign keys: {broken[:5]}")
    finally:
        if connection.in_transaction():
            connection.rollback()
        if sqlite:
            _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(connection: Connection, sql: str) -> list[Any]:
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"cannot open database {url!r}: not a database URL") from exc
    if parsed.drivername == "postgresql":
        # The `postgres` extra installs psycopg 3; SQLAlchemy's bare "postgresql" would mean psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = sa.create_engine(parsed, json_serializer=_json_dumps)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        hint = _DRIVER_HINTS.get(parsed.get_backend_name())
        suffix = f" (install it with: {hint})" if hint else ""
        raise StoreError(f"cannot open database {_shown(url)}: no driver for {parsed.drivername}{suffix}") from exc
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"cannot open database {_shown(url)}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL journal, a busy timeout, and transactions we begin ourselves.

    pysqlite's own transaction handling starts transactions late (only before DML), so reads before a
    write would see a different snapshot; we turn it off and emit BEGIN ourselves, as SQLAlchemy advises.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_OPTION, "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


class UnstorableJSONError(ValueError):
    """A value for a JSON column that JSON cannot hold (NaN, Infinity)."""


def _json_dumps(value: Any) -> str:
    # NaN/Infinity are not JSON: PostgreSQL rejects them, so SQLite must not quietly accept them either.
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError as exc:
        raise UnstorableJSONError(str(exc)) from None


def _shown(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _disk_hint(url: str) -> str:
    """Why SQLite's terse 'unable to open database file' / 'disk I/O error' happened, when the disk tells."""
    try:
        parsed = make_url(url)
    except sa.exc.ArgumentError:
        return ""
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return ""
    folder = Path(parsed.database).parent
    try:
        stats = os.statvfs(folder)
    except OSError:
        return ""
    if stats.f_flag & os.ST_RDONLY or not os.access(folder, os.W_OK):
        return f" ({folder} is read-only: SQLite needs to write its journal beside the database)"
    if stats.f_bavail == 0:
        return f" (no space left on the device holding {folder})"
    return ""


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's own message (e.g. 'unable to open database file'), without SQLAlchemy's boilerplate."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.orig is not None:
        return str(exc.orig).strip() or type(exc.orig).__name__
    if isinstance(exc, sa.exc.StatementError) and exc.orig is not None:
        return f"{type(exc.orig).__name__}: {exc.orig}"
    return str(exc).split("\n", 1)[0]
