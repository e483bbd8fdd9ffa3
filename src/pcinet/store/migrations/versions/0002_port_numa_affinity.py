"""Ports keep their ``numa_affinity_policy`` (Neutron's port-numa-affinity-policy extension).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ports") as batch:
        batch.add_column(sa.Column("numa_affinity_policy", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ports") as batch:
        batch.drop_column("numa_affinity_policy")
