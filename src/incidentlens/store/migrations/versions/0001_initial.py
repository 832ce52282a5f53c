"""Initial workflow schema: incidents, investigations, evidence, hypotheses, status events.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_FINGERPRINT_WHERE = sa.text("alert_fingerprint != '' AND status NOT IN ('closed', 'resolved')")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    sequences = op.create_table(
        "id_sequences",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_id_sequences")),
    )
    op.bulk_insert(sequences, [{"name": "incident", "value": 0}])

    op.create_table(
        "incidents",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(32), nullable=False),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("detected_at", _utc(), nullable=False),
        sa.Column("opened_at", _utc(), nullable=False),
        sa.Column("alert_fingerprint", sa.String(255), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "uq_incidents_open_fingerprint",
        "incidents",
        ["alert_fingerprint"],
        unique=True,
        sqlite_where=OPEN_FINGERPRINT_WHERE,
        postgresql_where=OPEN_FINGERPRINT_WHERE,
    )

    op.create_table(
        "investigations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=False),
        sa.Column("workspace", sa.Text(), nullable=False),
        sa.Column("input_summary", sa.JSON(), nullable=False),
        sa.Column("brief", sa.JSON(), nullable=False),
        sa.Column("tool_version", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_investigations_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_investigations")),
    )
    op.create_index(op.f("ix_investigations_incident_id"), "investigations", ["incident_id"])

    op.create_table(
        "evidence",
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("investigation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("excerpt", sa.Text(), nullable=False),
        sa.Column("start_ns", sa.BigInteger(), nullable=True),
        sa.Column("end_ns", sa.BigInteger(), nullable=True),
        sa.Column("source_ref", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_evidence_incident_id_incidents")),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_evidence_investigation_id_investigations"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "id", name=op.f("pk_evidence")),
    )
    op.create_index(op.f("ix_evidence_investigation_id"), "evidence", ["investigation_id"])

    op.create_table(
        "hypotheses",
        sa.Column("investigation_id", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(255), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("component", sa.String(255), nullable=False),
        sa.Column("fault", sa.String(32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("supporting", sa.JSON(), nullable=False),
        sa.Column("contradicting", sa.JSON(), nullable=False),
        sa.Column("predictions", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_hypotheses_incident_id_incidents")),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_hypotheses_investigation_id_investigations"),
        ),
        sa.PrimaryKeyConstraint("investigation_id", "id", name=op.f("pk_hypotheses")),
    )
    op.create_index(op.f("ix_hypotheses_incident_id"), "hypotheses", ["incident_id"])

    op.create_table(
        "status_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_status_events_incident_id_incidents")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_events")),
    )
    op.create_index(op.f("ix_status_events_incident_id"), "status_events", ["incident_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_status_events_incident_id"), table_name="status_events")
    op.drop_table("status_events")
    op.drop_index(op.f("ix_hypotheses_incident_id"), table_name="hypotheses")
    op.drop_table("hypotheses")
    op.drop_index(op.f("ix_evidence_investigation_id"), table_name="evidence")
    op.drop_table("evidence")
    op.drop_index(op.f("ix_investigations_incident_id"), table_name="investigations")
    op.drop_table("investigations")
    op.drop_index("uq_incidents_open_fingerprint", table_name="incidents")
    op.drop_table("incidents")
    op.drop_table("id_sequences")
