"""Incident memory: the memory_entries table (one fingerprint per resolved incident).

Revision ID: 0100
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0100"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "memory_entries",
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("investigation_id", sa.Integer(), nullable=True),
        sa.Column("service", sa.String(255), nullable=True),
        sa.Column("fault", sa.String(32), nullable=True),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.JSON(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_memory_entries_incident_id_incidents")
        ),
        sa.ForeignKeyConstraint(
            ["investigation_id"],
            ["investigations.id"],
            name=op.f("fk_memory_entries_investigation_id_investigations"),
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_memory_entries")),
    )
    op.create_index("ix_memory_entries_cause", "memory_entries", ["service", "fault"])


def downgrade() -> None:
    op.drop_index("ix_memory_entries_cause", table_name="memory_entries")
    op.drop_table("memory_entries")
