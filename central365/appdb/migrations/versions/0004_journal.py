"""The journal: what central365 wrote into each folder (baseline, changeKey) and every run's
before-images; runs note how many active Central records their plan saw.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("active_records", sa.Integer(), nullable=True))
    op.create_table(
        "journal_contacts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("folder_key", sa.String(700), nullable=False),
        sa.Column("central_key", sa.Text(), nullable=False),
        sa.Column("office365_id", sa.Text(), nullable=False),
        sa.Column("baseline", sa.Text(), nullable=False),
        sa.Column("change_key", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_journal_contacts_run_id_runs", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_journal_contacts"),
        sa.UniqueConstraint("folder_key", "central_key", name="uq_journal_contacts_folder_key"),
    )
    op.create_table(
        "journal_writes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("central_key", sa.Text(), nullable=False),
        sa.Column("office365_id", sa.Text(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("change_key", sa.Text(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.id"], name="fk_journal_writes_run_id_runs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_journal_writes"),
    )
    op.create_index("ix_journal_writes_run_id", "journal_writes", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_journal_writes_run_id", table_name="journal_writes")
    op.drop_table("journal_writes")
    op.drop_table("journal_contacts")
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("active_records")
