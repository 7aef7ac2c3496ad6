"""The Settings page keeps the per-field write policies (JSON) and what a contact deleted in
Outlook becomes (`recreate` / `respect_deletes`); NULL: the start-up settings'.

Revision ID: 0007_sync_policies
Revises: 0007_run_undo (h-undo's, merged into this branch; 0006 before it)
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_sync_policies"
# Follows h-undo's 0007_run_undo, merged into this branch for its delete path (two heads would
# stop `alembic upgrade head`); the coordinator re-chains the 0007s at merge.
down_revision: str | None = "0007_run_undo"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_settings") as batch:
        batch.add_column(sa.Column("field_policies", sa.Text(), nullable=True))
        batch.add_column(sa.Column("deleted_contacts", sa.String(32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_settings") as batch:
        batch.drop_column("deleted_contacts")
        batch.drop_column("field_policies")
