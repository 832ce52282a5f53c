"""Alembic environment for the workflow database.

`incidentlens.store.database.migrate` passes an open connection in `config.attributes["connection"]`;
developers generating a revision can instead set `sqlalchemy.url` on the Config.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context
from sqlalchemy.engine import Connection

from incidentlens.store import (
    tables_fixes,  # noqa: F401 - registers the fix tables on Base.metadata
    tables_jobs,  # noqa: F401 - registers the jobs table on Base.metadata
    tables_memory,  # noqa: F401 - registers the memory tables on Base.metadata
)
from incidentlens.store.tables import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things: later migrations rebuild tables in batch mode.
        render_as_batch=sqlite,
        # SQLite DDL is transactional too: a failed upgrade leaves the previous schema intact.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection passed and no sqlalchemy.url configured for migrations")
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=context.config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
