"""Fix proposals, approval decisions, issued approvals, executions, application secrets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fix_proposals",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("incident_id", sa.String(32), nullable=False),
        sa.Column("investigation_id", sa.Integer(), nullable=False),
        sa.Column("hypothesis_id", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("risk", sa.String(32), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("action", sa.JSON(), nullable=False),
        sa.Column("prediction", sa.JSON(), nullable=True),
        sa.Column("expectation", sa.JSON(), nullable=False),
        sa.Column("service", sa.String(255), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("base_commit", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("validation", sa.JSON(), nullable=True),
        sa.Column("verification", sa.JSON(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], name=op.f("fk_fix_proposals_incident_id_incidents")),
        sa.ForeignKeyConstraint(
            ["investigation_id"], ["investigations.id"], name=op.f("fk_fix_proposals_investigation_id_investigations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_proposals")),
    )
    op.create_index(op.f("ix_fix_proposals_incident_id"), "fix_proposals", ["incident_id"])
    op.create_table(
        "fix_decisions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("proposal_hash", sa.String(64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["fix_proposals.id"], name=op.f("fk_fix_decisions_proposal_id_fix_proposals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_decisions")),
    )
    op.create_index(op.f("ix_fix_decisions_proposal_id"), "fix_decisions", ["proposal_id"])
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("proposal_id", sa.String(32), nullable=False),
        sa.Column("proposal_hash", sa.String(64), nullable=False),
        sa.Column("approvers", sa.JSON(), nullable=False),
        sa.Column("issued_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("used_at", _utc(), nullable=True),
        sa.Column("used_by", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["fix_proposals.id"], name=op.f("fk_approvals_proposal_id_fix_proposals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    op.create_index(op.f("ix_approvals_proposal_id"), "approvals", ["proposal_id"])
    op.create_table(
        "fix_executions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("proposal_id", sa.String(32), nullable=False),
        sa.Column("approval_id", sa.String(64), nullable=False),
        sa.Column("executor", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("finished_at", _utc(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["fix_proposals.id"], name=op.f("fk_fix_executions_proposal_id_fix_proposals")
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"], ["approvals.id"], name=op.f("fk_fix_executions_approval_id_approvals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fix_executions")),
        sa.UniqueConstraint("approval_id", name=op.f("uq_fix_executions_approval_id")),
    )
    op.create_index(op.f("ix_fix_executions_proposal_id"), "fix_executions", ["proposal_id"])
    op.create_table(
        "app_secrets",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("value", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_app_secrets")),
    )


def downgrade() -> None:
    op.drop_table("app_secrets")
    op.drop_index(op.f("ix_fix_executions_proposal_id"), table_name="fix_executions")
    op.drop_table("fix_executions")
    op.drop_index(op.f("ix_approvals_proposal_id"), table_name="approvals")
    op.drop_table("approvals")
    op.drop_index(op.f("ix_fix_decisions_proposal_id"), table_name="fix_decisions")
    op.drop_table("fix_decisions")
    op.drop_index(op.f("ix_fix_proposals_incident_id"), table_name="fix_proposals")
    op.drop_table("fix_proposals")
