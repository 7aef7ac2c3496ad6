"""The Settings page keeps the guards' thresholds against mass changes (JSON; NULL: start-up's).

Revision ID: 0005
Revises: 0003 (0004 once the journal's migration is merged before it)
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
# The journal's 0004 is made on another branch at the same time: when both are merged, this
# follows it ("0004"); until then it follows 0003.
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("app_settings") as batch:
        batch.add_column(sa.Column("guard_thresholds", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_settings") as batch:
        batch.drop_column("guard_thresholds")
