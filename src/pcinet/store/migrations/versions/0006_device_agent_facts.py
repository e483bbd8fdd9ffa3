"""Devices keep what the host agent needs: the VF index, the PCIe root port and the MAC.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("vf_index", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pcie_root", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("mac_address", sa.String(length=17), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("mac_address")
        batch.drop_column("pcie_root")
        batch.drop_column("vf_index")
