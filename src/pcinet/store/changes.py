"""The change feed that lets a replica refresh its scheduler snapshot incrementally.

Every transaction that changes hosts calls ``touch`` for each; the unit of work then calls
``publish`` just before it commits, which increments the one-row ``change_counter`` and
stamps the touched hosts' ``change_seq`` with the new value. Taking the counter's row lock
last keeps it held only for the end of the transaction, and makes the sequence numbers
follow commit order: a transaction that has not committed yet will publish a number greater
than every number already visible. So "hosts with ``change_seq`` > N" never misses a change,
and a reader that saw counter value N has seen every change up to N.

Heartbeats are not changes (they would make every claim on a live host conflict); a replica
reads them with ``hosts.heartbeats``. The feed is read by ``claims.changed_hosts``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.models import counter_table, host_table

_TOUCHED = "pcinet_touched_hosts"

_bump = (
    sa.update(counter_table)
    .where(counter_table.c.id == 1)
    .values(value=counter_table.c.value + 1)
    .returning(counter_table.c.value)
)
_stamp = (
    sa.update(host_table)
    .where(host_table.c.id.in_(sa.bindparam("ids", expanding=True)))
    .values(change_seq=sa.bindparam("seq"))
)
_read = sa.select(counter_table.c.value).where(counter_table.c.id == 1)


def touch(session: Session, host_id: str) -> None:
    """Record that this transaction changed ``host_id`` (call after updating its row)."""
    session.info.setdefault(_TOUCHED, set()).add(host_id)


def publish(session: Session) -> int | None:
    """Stamp the touched hosts with a new sequence number; None when nothing was touched.
    Call last before commit (``UnitOfWork`` does)."""
    touched: set[str] | None = session.info.pop(_TOUCHED, None)
    if not touched:
        return None
    conn = session.connection()
    seq: int = conn.execute(_bump).scalar_one()
    conn.execute(_stamp, {"ids": sorted(touched), "seq": seq})
    return seq


def current_seq(session: Session) -> int:
    return int(session.connection().execute(_read).scalar_one())
