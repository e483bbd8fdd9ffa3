"""Servers. A server row is created by ``claims.claim`` (placed) or ``add_server`` (not
placed, e.g. an ERROR record); ``claims.release`` gives back what it holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.models import Host, Server, new_id, utcnow


def add_server(
    session: Session,
    *,
    project_id: str,
    name: str,
    status: str,
    vcpus: int,
    memory_mb: int,
    flavor: Mapping[str, Any],
    server_id: str | None = None,
) -> Server:
    """A server that holds nothing on any host."""
    row = Server(
        id=server_id or new_id(),
        project_id=project_id,
        name=name,
        host_id=None,
        status=status,
        vcpus=vcpus,
        memory_mb=memory_mb,
        flavor=dict(flavor),
        cells=[],
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def get_server(session: Session, server_id: str) -> Server | None:
    return session.get(Server, server_id)


def list_servers(
    session: Session,
    *,
    project_id: str | None = None,
    host_id: str | None = None,
    name: str | None = None,
) -> list[Server]:
    """Servers matching every filter given, oldest first."""
    query = sa.select(Server).order_by(Server.created_at, Server.id)
    if project_id is not None:
        query = query.where(Server.project_id == project_id)
    if host_id is not None:
        query = query.where(Server.host_id == host_id)
    if name is not None:
        query = query.where(Server.name == name)
    return list(session.scalars(query))


def host_names(session: Session, host_ids: set[str]) -> dict[str, str]:
    """Host id -> name, for showing where servers run."""
    if not host_ids:
        return {}
    rows = session.execute(sa.select(Host.id, Host.name).where(Host.id.in_(host_ids)))
    return {row.id: row.name for row in rows}


def set_server_status(session: Session, server_id: str, status: str) -> Server | None:
    row = session.get(Server, server_id)
    if row is not None:
        row.status = status
        session.flush()
    return row


def delete_server(session: Session, server_id: str) -> bool:
    """Delete the row; its ports are detached (FK ON DELETE SET NULL). The database refuses
    (IntegrityError) while the server still holds allocations: release it first."""
    row = session.get(Server, server_id)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True
