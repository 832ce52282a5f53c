"""The packaged migrations build exactly the schema the models declare, and undo it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from incidentlens.errors import StoreError
from incidentlens.store.database import alembic_config, migrate, open_database
from incidentlens.store.tables import OPEN_FINGERPRINT_WHERE, Base
from incidentlens.store.tables_memory import MemoryEntryRecord

SRC = Path(__file__).resolve().parents[2] / "src"
APP_TABLES = {"id_sequences", "incidents", "investigations", "evidence", "hypotheses", "status_events"}
APP_TABLES |= {"assignments", "hypothesis_decisions", "audit_log", "audit_head"}
APP_TABLES |= {"fix_proposals", "fix_decisions", "approvals", "fix_executions", "app_secrets"}
APP_TABLES |= {MemoryEntryRecord.__tablename__}
APP_TABLES |= {"jobs"}


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url)


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_head_matches_models(database_url: str) -> None:
    engine = _engine(database_url)
    with engine.connect() as connection:
        migrate(connection, "head")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _tables(engine) == APP_TABLES | {"alembic_version"}
    engine.dispose()


def test_downgrade_base_then_upgrade_again(database_url: str) -> None:
    engine = _engine(database_url)
    with engine.connect() as connection:
        migrate(connection, "head")
        migrate(connection, "base", downgrade=True)
    assert _tables(engine) == {"alembic_version"}
    with engine.connect() as connection:
        migrate(connection, "head")
    assert _tables(engine) >= APP_TABLES
    engine.dispose()


def test_single_head_and_every_revision_downgrades() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    for revision in script.walk_revisions():
        assert revision.module.downgrade is not None
        assert revision.doc, f"revision {revision.revision} has no description"


def test_initial_migration_seeds_the_incident_sequence(database_url: str) -> None:
    engine = _engine(database_url)
    with engine.connect() as connection:
        migrate(connection, "head")
        rows = connection.execute(sa.text("SELECT name, value FROM id_sequences")).all()
    assert [tuple(r) for r in rows] == [("incident", 0)]
    engine.dispose()


def test_open_database_is_idempotent(database_url: str) -> None:
    for _ in range(2):
        db = open_database(database_url)
        db.dispose()
    engine = _engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM id_sequences")).scalar_one() == 1
    engine.dispose()


def test_unknown_schema_revision_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    engine = _engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(sa.text("INSERT INTO alembic_version VALUES ('9999')"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"cannot open database sqlite:///.*wf\.db: schema migration failed.*9999"):
        open_database(f"sqlite:///{path}")


def test_open_fingerprint_index_predicate_matches_the_models() -> None:
    initial = ScriptDirectory.from_config(alembic_config()).get_revision("0001")
    assert initial is not None
    assert str(initial.module.OPEN_FINGERPRINT_WHERE) == str(OPEN_FINGERPRINT_WHERE)


def test_upgrade_from_the_previous_schema_keeps_the_data(database_url: str) -> None:
    """A database left at the release before head (with an incident in it) upgrades in place, rows intact."""
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_revision(script.get_current_head())
    assert head is not None and isinstance(head.down_revision, str)
    engine = _engine(database_url)
    with engine.connect() as connection:
        migrate(connection, head.down_revision)
        assert MigrationContext.configure(connection).get_current_revision() == head.down_revision
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO incidents (id, title, status, severity, service, detected_at, opened_at,"
                " alert_fingerprint, created_at, updated_at) VALUES ('INC-0001', 'checkout errors', 'opened',"
                " 'high', 'checkout', :t, :t, 'fp-1', :t, :t)"
            ),
            {"t": "2026-03-01 12:00:00"},
        )
    engine.dispose()
    db = open_database(database_url)  # what `incidentlens serve` does on start: upgrade to head
    try:
        with db.session(readonly=True) as session:
            assert session.execute(sa.text("SELECT id, title FROM incidents")).all() == [
                ("INC-0001", "checkout errors")
            ]
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == head.revision
            assert compare_metadata(context, Base.metadata) == []
    finally:
        db.dispose()


def test_replicas_opening_an_empty_database_at_once_migrate_it_once(database_url: str) -> None:
    """Servers started together on a new database (separate processes): one migrates, the others wait."""
    code = "import sys; from incidentlens.store.database import open_database; open_database(sys.argv[1]).dispose()"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    starts = [
        subprocess.Popen([sys.executable, "-c", code, database_url], env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    failures = [err for proc in starts if (err := proc.communicate(timeout=120)[1]) and proc.returncode != 0]
    assert failures == []
    engine = _engine(database_url)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM id_sequences")).scalar_one() == 1
    engine.dispose()
