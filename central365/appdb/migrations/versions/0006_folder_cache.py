"""The folder cache: each mailbox folder's contacts as last seen and its delta link (issue 11).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "folder_caches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("mailbox", sa.String(length=320), nullable=False),
        sa.Column("folder_id", sa.String(length=512), nullable=False),
        sa.Column("delta_link", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_folder_caches")),
        sa.UniqueConstraint("mailbox", "folder_id", name="uq_folder_caches_folder"),
    )
    op.create_table(
        "folder_cache_contacts",
        sa.Column("cache_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.String(length=512), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cache_id"],
            ["folder_caches.id"],
            name=op.f("fk_folder_cache_contacts_cache_id_folder_caches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cache_id", "contact_id", name=op.f("pk_folder_cache_contacts")),
    )


def downgrade() -> None:
    op.drop_table("folder_cache_contacts")
    op.drop_table("folder_caches")
