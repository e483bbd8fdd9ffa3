"""Ports, and their binding to a server, a segment and a device.

The database guarantees that a MAC address is unique within a network (``add_port`` turns a
violation into MacAddressInUse) and that a port is attached to at most one server at a time
(``bind_port`` attaches with ``WHERE device_id IS NULL``; PortInUse otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.errors import MacAddressInUse, PortInUse
from pcinet.store.models import Port, new_id, utcnow

BINDING_FIELDS = (
    "binding_host_id",
    "binding_vif_type",
    "binding_vif_details",
    "binding_profile",
    "segment_id",
    "pci_address",
)


def add_port(
    session: Session, *, project_id: str, network_id: str, mac_address: str, **fields: Any
) -> Port:
    """Insert a port; ``fields`` are other ``models.Port`` columns (name, vnic_type, profile,
    port_security_enabled, admin_state_up, min_tx_rate, max_tx_rate, ...)."""
    now = utcnow()
    port = Port(
        id=new_id(),
        project_id=project_id,
        network_id=network_id,
        mac_address=mac_address,
        created_at=now,
        updated_at=now,
        **fields,
    )
    try:
        with session.begin_nested():
            session.add(port)
    except sa.exc.IntegrityError:
        if mac_in_use(session, network_id, mac_address):
            raise MacAddressInUse(
                f"mac_address: {mac_address} is in use on network {network_id}",
                field="mac_address",
            ) from None
        raise
    return port


def mac_in_use(session: Session, network_id: str, mac_address: str) -> bool:
    query = sa.select(Port.id).where(Port.network_id == network_id, Port.mac_address == mac_address)
    return session.scalars(query.limit(1)).first() is not None


def get_port(session: Session, port_id: str) -> Port | None:
    return session.get(Port, port_id)


def list_ports(
    session: Session,
    *,
    project_id: str | None = None,
    network_id: str | None = None,
    device_id: str | None = None,
    ids: Sequence[str] | None = None,
) -> list[Port]:
    """Ports matching every filter given, oldest first."""
    query = sa.select(Port).order_by(Port.created_at, Port.id)
    if project_id is not None:
        query = query.where(Port.project_id == project_id)
    if network_id is not None:
        query = query.where(Port.network_id == network_id)
    if device_id is not None:
        query = query.where(Port.device_id == device_id)
    if ids is not None:
        query = query.where(Port.id.in_(ids))
    return list(session.scalars(query))


def bind_port(
    session: Session,
    port_id: str,
    *,
    server_id: str,
    binding: Mapping[str, Any],
    status: str | None = None,
) -> Port:
    """Attach a port to a server and record its binding (keys of ``BINDING_FIELDS``), and
    ``status`` when given.

    Atomic against another server taking the port: PortInUse if it is attached elsewhere.
    """
    unknown = set(binding) - set(BINDING_FIELDS)
    if unknown:
        raise ValueError(f"not binding fields: {', '.join(sorted(unknown))}")
    result = session.execute(
        sa.update(Port)
        .where(Port.id == port_id, sa.or_(Port.device_id.is_(None), Port.device_id == server_id))
        .values(
            device_id=server_id,
            updated_at=utcnow(),
            **({} if status is None else {"status": status}),
            **binding,
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise PortInUse(f"port {port_id} is used by another server", field="ports")
    port = session.get(Port, port_id)
    assert port is not None  # the update matched it
    return port


def unbind_ports(session: Session, server_id: str) -> list[Port]:
    """Detach every port of a server and clear its binding; status back to DOWN."""
    ports = list_ports(session, device_id=server_id)
    now = utcnow()
    for port in ports:
        port.device_id = None
        port.status = "DOWN"
        port.updated_at = now
        for name in BINDING_FIELDS:
            setattr(port, name, None)
    session.flush()
    return ports


def set_port_status(session: Session, port_id: str, status: str) -> Port | None:
    port = session.get(Port, port_id)
    if port is not None:
        port.status = status
        port.updated_at = utcnow()
        session.flush()
    return port


def delete_port(session: Session, port_id: str) -> bool:
    port = session.get(Port, port_id)
    if port is None:
        return False
    session.delete(port)
    session.flush()
    return True
