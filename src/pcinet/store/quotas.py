"""Per-project quotas: limits, usage, and the check inside the writing transaction.

A limit is an integer >= 0, or ``UNLIMITED`` (-1). The rows of project ``DEFAULTS`` ("")
are the defaults; a project's own row of a resource overrides the default; no row at all
means unlimited.

``enforce`` runs in the transaction that has just written a new resource: it serialises
with every other writer of the same project (PostgreSQL: a transaction-scoped advisory lock
per project; SQLite: writers already run one at a time, ``BEGIN IMMEDIATE``), then counts
what the project holds, the new rows included, and raises OverQuota when a count is above
its limit: the caller's transaction rolls back. So two replicas cannot both take the last
unit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.errors import PcinetError
from pcinet.core.pci import DevType
from pcinet.store.models import (
    Network,
    Port,
    Quota,
    allocation_table,
    device_table,
    server_table,
)
from pcinet.store.uow import Executor, connection_of

RESOURCES = ("networks", "ports", "servers", "vfs")
DEFAULTS = ""
UNLIMITED = -1
Limits = Mapping[str, int]  # resource -> limit (UNLIMITED or absent: none)


class OverQuota(PcinetError):
    """The project would hold more of a resource than its quota allows."""

    code = "over_quota"


def read_limits(db: Executor, project_id: str) -> dict[str, int]:
    """The effective limits of ``project_id`` (its own rows over the defaults); a resource
    without any limit is absent."""
    rows = connection_of(db).execute(
        sa.select(Quota.project_id, Quota.resource, Quota.hard_limit).where(
            Quota.project_id.in_([DEFAULTS, project_id])
        )
    )
    defaults: dict[str, int] = {}
    own: dict[str, int] = {}
    for project, resource, limit in rows:
        (defaults if project == DEFAULTS else own)[resource] = limit
    merged = {**defaults, **own}
    return {r: v for r, v in merged.items() if v != UNLIMITED}


def own_limits(db: Executor, project_id: str) -> dict[str, int]:
    """The rows of ``project_id`` itself (its overrides; for DEFAULTS: the defaults)."""
    rows = connection_of(db).execute(
        sa.select(Quota.resource, Quota.hard_limit).where(Quota.project_id == project_id)
    )
    return {str(resource): int(limit) for resource, limit in rows.all()}


def set_limits(session: Session, project_id: str, limits: Mapping[str, int | None]) -> None:
    """Set (an integer) or remove (None) the project's own limit of each resource given."""
    for resource, limit in limits.items():
        if resource not in RESOURCES:
            raise ValueError(f"unknown quota resource {resource!r}")
        row = session.get(Quota, (project_id, resource))
        if limit is None:
            if row is not None:
                session.delete(row)
        elif row is None:
            session.add(Quota(project_id=project_id, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    session.flush()


NETWORK = cast(sa.Table, Network.__table__)
PORT = cast(sa.Table, Port.__table__)


def _project(column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return column == sa.bindparam("q_project", type_=sa.String)


@lru_cache(maxsize=8)
def _count(resource: str) -> sa.Select[Any]:
    count = sa.select(sa.func.count())
    if resource == "networks":
        return count.select_from(NETWORK).where(_project(NETWORK.c.project_id))
    if resource == "ports":
        return count.select_from(PORT).where(_project(PORT.c.project_id))
    if resource == "servers":
        return count.select_from(server_table).where(_project(server_table.c.project_id))
    if resource == "vfs":
        return (
            count.select_from(
                allocation_table.join(
                    server_table, server_table.c.id == allocation_table.c.server_id
                ).join(device_table, device_table.c.id == allocation_table.c.device_id)
            )
            .where(_project(server_table.c.project_id))
            .where(device_table.c.dev_type == DevType.VF.value)
        )
    raise ValueError(f"unknown quota resource {resource!r}")


_LOCK = sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("q_key", type_=sa.BigInteger)))


def lock_key(project_id: str) -> int:
    """A signed 64-bit advisory lock key for the project's quota (stable across processes)."""
    digest = hashlib.sha256(f"pcinet-quota:{project_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def usage(db: Executor, project_id: str, resources: tuple[str, ...] = RESOURCES) -> dict[str, int]:
    conn = connection_of(db)
    return {
        r: int(conn.execute(_count(r), {"q_project": project_id}).scalar_one()) for r in resources
    }


def enforce(db: Executor, project_id: str, limits: Limits, resources: tuple[str, ...]) -> None:
    """In the writing transaction, after the new rows are written: OverQuota naming the
    first resource of ``resources`` whose count is above its limit (see the module
    docstring). Nothing is read when none of them is limited."""
    limited = tuple(r for r in resources if limits.get(r, UNLIMITED) != UNLIMITED)
    if not limited:
        return
    conn = connection_of(db)
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"q_key": lock_key(project_id)})
    held = usage(conn, project_id, limited)
    for resource in limited:
        if held[resource] > limits[resource]:
            raise OverQuota(
                f"project {project_id} is over its quota of {resource}: the limit is "
                f"{limits[resource]}, this request would make it {held[resource]}",
                field=resource,
            )
