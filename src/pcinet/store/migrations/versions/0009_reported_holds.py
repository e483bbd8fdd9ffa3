"""What a host reports in use outside pcinet: each device's reported status, and the
allocated devices no device spec selects (they block their PF or VFs).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(
            sa.Column("reported_status", sa.String(16), nullable=False, server_default="available")
        )
    with op.batch_alter_table("hosts") as batch:
        batch.add_column(
            sa.Column(
                "unselected_allocated", sa.JSON(), nullable=False, server_default=sa.text("'[]'")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("hosts") as batch:
        batch.drop_column("unselected_allocated")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("reported_status")
