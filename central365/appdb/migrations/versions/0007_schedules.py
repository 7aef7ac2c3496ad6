"""Schedules' state and target runs (issue 12): pause flags, the last slot fired, and each run
of a target with one row per mailbox (linked to that mailbox's run of History).

Revision ID: 0007_schedules
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_schedules"
down_revision: str | None = "0007_sync_policies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("last_fired_slot", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_schedules")),
    )
    op.create_table(
        "target_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target", sa.String(length=64), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=False),
        sa.Column("slot", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_runs")),
    )
    op.create_index(op.f("ix_target_runs_target"), "target_runs", ["target"], unique=False)
    op.create_table(
        "target_run_mailboxes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("target_run_id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["target_run_id"],
            ["target_runs.id"],
            name=op.f("fk_target_run_mailboxes_target_run_id_target_runs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.id"],
            name=op.f("fk_target_run_mailboxes_run_id_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_target_run_mailboxes")),
        sa.UniqueConstraint("target_run_id", "mailbox", name="uq_target_run_mailboxes_mailbox"),
    )
    op.create_index(
        op.f("ix_target_run_mailboxes_run_id"), "target_run_mailboxes", ["run_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_target_run_mailboxes_run_id"), table_name="target_run_mailboxes")
    op.drop_table("target_run_mailboxes")
    op.drop_index(op.f("ix_target_runs_target"), table_name="target_runs")
    op.drop_table("target_runs")
    op.drop_table("schedules")
