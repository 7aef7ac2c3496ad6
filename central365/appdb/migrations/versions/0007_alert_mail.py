"""Where alerts about unattended runs are e-mailed: the SMTP server, its sealed password, the
sender and the admins (one row, set on the Settings page).

Revision ID: 0007_alert_mail
Revises: 0007_schedules
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_alert_mail"
# Chained after h-worker's 0007_schedules, merged into this branch (the coordinator re-chains).
down_revision: str | None = "0007_schedules"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_mail",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("host", sa.Text(), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("security", sa.String(length=16), nullable=False),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("password_sealed", sa.Text(), nullable=True),
        sa.Column("sender", sa.Text(), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_alert_mail_single_row"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_mail")),
    )


def downgrade() -> None:
    op.drop_table("alert_mail")
