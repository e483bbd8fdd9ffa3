"""Tokens get a non-secret id, an optional host binding and expiry, and a mark for the
configured admin token; per-project quotas.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("host", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("configured", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    conn = op.get_bind()
    tokens = sa.table("tokens", sa.column("token_hash"), sa.column("id"))
    for (digest,) in conn.execute(sa.select(tokens.c.token_hash)).all():
        conn.execute(
            tokens.update().where(tokens.c.token_hash == digest).values(id=uuid.uuid4().hex)
        )
    with op.batch_alter_table("tokens") as batch:
        batch.alter_column("id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("configured", existing_type=sa.Boolean(), server_default=None)
        batch.create_unique_constraint(op.f("uq_tokens_id"), ["id"])
    op.create_table(
        "quotas",
        sa.Column("project_id", sa.String(length=255), nullable=False),
        sa.Column("resource", sa.String(length=16), nullable=False),
        sa.Column("hard_limit", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "resource", name=op.f("pk_quotas")),
    )


def downgrade() -> None:
    op.drop_table("quotas")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_constraint(op.f("uq_tokens_id"), type_="unique")
        for column in ("configured", "expires_at", "host", "id"):
            batch.drop_column(column)
