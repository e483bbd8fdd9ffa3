"""The change feed that lets a replica refresh its scheduler snapshot incrementally.

Every statement that changes a host row stamps ``hosts.change_seq`` with ``NEXT_CHANGE_SEQ``
in the same UPDATE that bumps its generation (``changed_values``), so a change costs no
extra statement and no global lock. A reader asks for hosts with ``change_seq`` above the
horizon it got last time, and gets a new ``horizon`` in the same snapshot. The guarantee:
**a change not visible to the reader's snapshot has a stamp above that snapshot's horizon**,
so the next read includes it. How each backend keeps that promise:

- PostgreSQL: the stamp is the writing transaction's id (``pg_current_xact_id()``) and the
  horizon is the reader snapshot's ``xmin`` minus one. A transaction not visible in a
  snapshot was in progress or not started, so its id is at least that ``xmin``. Ids do not
  follow commit order, which is why the horizon is ``xmin``, not the newest stamp: a few
  hosts may come back twice (harmless), none is missed. A long-open transaction anywhere
  on the server holds ``xmin`` back and makes reads return more hosts, never fewer.
- SQLite: writers are serialised (``BEGIN IMMEDIATE``), so the stamp is simply the largest
  stamp plus one and the horizon the largest stamp.

Heartbeats are not changes (they would make every claim on a live host conflict); a replica
reads them with ``hosts.heartbeats``. The feed is read by ``claims.changed_hosts``.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from pcinet.store.models import host_table


class _NextChangeSeq(FunctionElement[int]):
    type = sa.BigInteger()
    inherit_cache = True


class _Horizon(FunctionElement[int]):
    type = sa.BigInteger()
    inherit_cache = True


@compiles(_NextChangeSeq, "postgresql")
def _next_pg(_element: _NextChangeSeq, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "pg_current_xact_id()::text::bigint"


@compiles(_NextChangeSeq)
def _next_serialised(_element: _NextChangeSeq, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "(SELECT coalesce(max(change_seq), 0) + 1 FROM hosts)"


@compiles(_Horizon, "postgresql")
def _horizon_pg(_element: _Horizon, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "pg_snapshot_xmin(pg_current_snapshot())::text::bigint - 1"


@compiles(_Horizon)
def _horizon_serialised(_element: _Horizon, _compiler: SQLCompiler, **_kw: Any) -> str:
    return "(SELECT coalesce(max(change_seq), 0) FROM hosts)"


NEXT_CHANGE_SEQ: sa.ColumnElement[int] = _NextChangeSeq()
_read_horizon = sa.select(_Horizon())
# The horizon and the hosts changed since, in one round trip (the second branch guarantees
# a row carrying the horizon when nothing changed).
_probe = sa.union_all(
    sa.select(
        _Horizon().label("horizon"), host_table.c.id, host_table.c.name, host_table.c.generation
    ).where(host_table.c.change_seq > sa.bindparam("since", type_=sa.BigInteger)),
    sa.select(_Horizon(), sa.null(), sa.null(), sa.null()),
)


def changed_values() -> dict[str, Any]:
    """The SET clause every change to a host row includes: generation + 1, and the stamp."""
    return {"generation": host_table.c.generation + 1, "change_seq": NEXT_CHANGE_SEQ}


def horizon(session: Session) -> int:
    """The reader's horizon: every change not visible to this transaction will be stamped
    above it. Read it in the same transaction as the hosts it goes with."""
    return int(session.connection().execute(_read_horizon).scalar_one())


def probe(session: Session, since: int) -> tuple[int, list[tuple[str, str, int]]]:
    """The horizon, and (id, name, generation) of the hosts changed after ``since``."""
    rows = session.connection().execute(_probe, {"since": since}).all()
    changed = [(r.id, r.name, r.generation) for r in rows if r.id is not None]
    return int(rows[0].horizon), changed
