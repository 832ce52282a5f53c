"""The packaged migrations build exactly the schema the models declare, and undo it."""

from __future__ import annotations

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

APP_TABLES = {"id_sequences", "incidents", "investigations", "evidence", "hypotheses", "status_events"}
APP_TABLES |= {"assignments", "hypothesis_decisions", "audit_log", "audit_head"}
APP_TABLES |= {"fix_proposals", "fix_decisions", "approvals", "fix_executions", "app_secrets"}
APP_TABLES |= {MemoryEntryRecord.__tablename__}
APP_TABLES |= {"jobs"}


def _engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_upgrade_head_matches_models(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "wf.db")
    with engine.connect() as connection:
        migrate(connection, "head")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert _tables(engine) == APP_TABLES | {"alembic_version"}
    engine.dispose()


def test_downgrade_base_then_upgrade_again(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "wf.db")
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


def test_initial_migration_seeds_the_incident_sequence(tmp_path: Path) -> None:
    engine = _engine(tmp_path / "wf.db")
    with engine.connect() as connection:
        migrate(connection, "head")
        rows = connection.execute(sa.text("SELECT name, value FROM id_sequences")).all()
    assert [tuple(r) for r in rows] == [("incident", 0)]
    engine.dispose()


def test_open_database_is_idempotent(tmp_path: Path) -> None:
    for _ in range(2):
        db = open_database(workspace=tmp_path)
        db.dispose()
    engine = _engine(tmp_path / "incidentlens.db")
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT count(*) FROM id_sequences")).scalar_one() == 1
    engine.dispose()


def test_unknown_schema_revision_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "wf.db"
    engine = _engine(path)
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
