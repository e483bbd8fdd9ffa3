"""VF states keep the settings the agent found on the VF before its first change
(``original``), so that a released VF says what to restore to, even to a reinstalled agent.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vf_states") as batch:
        batch.add_column(sa.Column("original", sa.JSON(none_as_null=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vf_states") as batch:
        batch.drop_column("original")
