"""Ports keep their own MAC while a ``direct-physical`` binding lends them their PF's
(``own_mac_address``, null otherwise), so that release gives it back.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ports") as batch:
        batch.add_column(sa.Column("own_mac_address", sa.String(length=17), nullable=True))


def downgrade() -> None:
    # Older code knows no lending: ports go back to their own MAC.
    op.execute("UPDATE ports SET mac_address = own_mac_address WHERE own_mac_address IS NOT NULL")
    with op.batch_alter_table("ports") as batch:
        batch.drop_column("own_mac_address")
