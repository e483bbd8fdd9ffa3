"""Ports, and their binding to a server, a segment and a device.

The database guarantees that a MAC address is unique within a network (``add_port`` turns a
violation into MacAddressInUse) and that a port is attached to at most one server at a time
(``bind_port`` attaches with ``WHERE device_id IS NULL``; PortInUse otherwise).

A ``direct-physical`` binding lends the port its PF's MAC: ``mac_address`` becomes the PF's
and ``own_mac_address`` keeps the port's own until ``unbind_ports`` gives it back. An own
MAC lent away stays reserved on its network (``mac_holder``), so that it can always be
given back: ``add_port`` refuses it, and so does a placement lending it (checked after the
write, in the same transaction: a writer that committed meanwhile is seen).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.direct import row_type
from pcinet.store.errors import MacAddressInUse, PortInUse
from pcinet.store.models import ID, Network, Port, Segment, UtcDateTime, new_id, utcnow
from pcinet.store.uow import Executor, connection_of

BINDING_FIELDS = (
    "binding_host_id",
    "binding_vif_type",
    "binding_vif_details",
    "binding_profile",
    "segment_id",
    "pci_address",
    "device_position",
)
# What a binding that lends the port its PF's MAC sets besides (see the module docstring).
LENT_MAC_FIELDS = ("mac_address", "own_mac_address")


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
    in_use = f"mac_address: {mac_address} is in use on network {network_id}"
    try:
        with session.begin_nested():
            session.add(port)
            session.flush()
            # After the insert, which waited for any writer of this MAC: one that lent
            # the MAC away as a port's own has committed, and this statement sees it.
            lender = mac_holder(session, network_id, mac_address, other_than=port.id)
            if lender is not None:
                raise MacAddressInUse(
                    f"{in_use} (the own MAC of port {lender}, which carries its PF's while bound)",
                    field="mac_address",
                )
    except sa.exc.IntegrityError:
        if mac_holder(session, network_id, mac_address) is not None:
            raise MacAddressInUse(in_use, field="mac_address") from None
        raise
    return port


def mac_holder(
    db: Executor, network_id: str, mac_address: str, *, other_than: str | None = None
) -> str | None:
    """The id of a port of the network (not ``other_than``) that has ``mac_address``, as its
    MAC or as its own MAC lent away (``own_mac_address``); None if there is none."""
    query = sa.select(_PORTS.c.id).where(
        _PORTS.c.network_id == network_id,
        sa.or_(_PORTS.c.mac_address == mac_address, _PORTS.c.own_mac_address == mac_address),
    )
    if other_than is not None:
        query = query.where(_PORTS.c.id != other_than)
    found: str | None = connection_of(db).execute(query.limit(1)).scalar()
    return found


def get_port(session: Session, port_id: str) -> Port | None:
    return session.get(Port, port_id)


def list_ports(
    session: Session,
    *,
    project_id: str | None = None,
    network_id: str | None = None,
    device_id: str | None = None,
    ids: Sequence[str] | None = None,
    binding_host_id: str | None = None,
) -> list[Port]:
    """Ports matching every filter given, oldest first; a server's ports (``device_id``) in
    the server's order."""
    query = sa.select(Port)
    if device_id is not None:
        query = query.order_by(Port.device_position)
    query = query.order_by(Port.created_at, Port.id)
    if project_id is not None:
        query = query.where(Port.project_id == project_id)
    if network_id is not None:
        query = query.where(Port.network_id == network_id)
    if device_id is not None:
        query = query.where(Port.device_id == device_id)
    if ids is not None:
        query = query.where(Port.id.in_(ids))
    if binding_host_id is not None:
        query = query.where(Port.binding_host_id == binding_host_id)
    return list(session.scalars(query))


def networks_bound_to(
    session: Session, host: str, network_ids: Sequence[str] | None = None
) -> set[str]:
    """The ids of the networks (of ``network_ids``, when given) with a port bound to host
    ``host`` (by name)."""
    query = sa.select(Port.network_id).distinct().where(Port.binding_host_id == host)
    if network_ids is not None:
        query = query.where(Port.network_id.in_(network_ids))
    return set(session.scalars(query))


_PORTS = cast(sa.Table, Port.__table__)


_PORT_RECORD: Any = row_type([c.key for c in _PORTS.columns])


def port_record(port: Port) -> Any:
    """A port's columns as a row (attributes and ``_mapping``), as ``ports_with_segments``
    reads them: for ``service.portcache``."""
    return _PORT_RECORD._make(getattr(port, c.key) for c in _PORTS.columns)


def attach_statement(i: int, columns: tuple[str, ...], guard: sa.CTE | None = None) -> sa.Update:
    """``UPDATE ports`` attaching port ``pp<i>`` to server ``p_server`` (stamped ``p_now``)
    and setting ``columns`` from ``pv<i>_<column>``, only while no other server has it; with
    ``guard``, only if that CTE has a row. The one statement that attaches a port: ``bind_port``
    runs it alone, ``placements.place`` as a CTE of its one-statement write."""
    stmt = (
        sa.update(_PORTS)
        .where(
            _PORTS.c.id == sa.bindparam(f"pp{i}", type_=ID),
            sa.or_(_PORTS.c.device_id.is_(None), _PORTS.c.device_id == sa.bindparam("p_server")),
        )
        .values(
            device_id=sa.bindparam("p_server", type_=ID),
            updated_at=sa.bindparam("p_now", type_=UtcDateTime()),
            **{c: sa.bindparam(f"pv{i}_{c}", type_=_PORTS.c[c].type) for c in columns},
        )
    )
    if guard is not None:
        stmt = stmt.where(sa.exists(sa.select(1).select_from(guard)))
    return stmt


@lru_cache(maxsize=32)
def _attach(columns: tuple[str, ...]) -> sa.Update:
    return attach_statement(0, columns)


def bind_port(
    session: Executor,
    port_id: str,
    *,
    server_id: str,
    binding: Mapping[str, Any],
    status: str | None = None,
    now: datetime | None = None,
) -> None:
    """Attach a port to a server and record its binding (keys of ``BINDING_FIELDS``, and of
    ``LENT_MAC_FIELDS`` when it lends the port a PF's MAC), and ``status`` when given.
    Atomic against another server taking the port: PortInUse if it is attached elsewhere.
    One statement, no RETURNING: this is on the placement hot path."""
    unknown = set(binding) - set(BINDING_FIELDS) - set(LENT_MAC_FIELDS)
    if unknown:
        raise ValueError(f"not binding fields: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = dict(binding)
    if status is not None:
        values["status"] = status
    params = {f"pv0_{c}": v for c, v in values.items()}
    params.update(pp0=port_id, p_server=server_id, p_now=now or utcnow())
    if connection_of(session).execute(_attach(tuple(values)), params).rowcount != 1:
        raise PortInUse(f"port {port_id} is used by another server", field="ports")


_SEG = cast(sa.Table, Segment.__table__)
_NET = cast(sa.Table, Network.__table__)
_PORTS_WITH_SEGMENTS_BASE = (
    sa.select(
        _PORTS,
        _NET.c.name.label("n_name"),
        _SEG.c.id.label("s_id"),
        _SEG.c.position.label("s_position"),
        _SEG.c.network_type.label("s_type"),
        _SEG.c.physical_network.label("s_physnet"),
        _SEG.c.segmentation_id.label("s_segid"),
    )
    .join(_NET, _NET.c.id == _PORTS.c.network_id)
    .join(_SEG, _SEG.c.network_id == _PORTS.c.network_id)
    .order_by(_PORTS.c.id, _SEG.c.position)
)


@lru_cache(maxsize=16)
def _ports_with_segments(count: int) -> sa.Select[Any]:
    """The query for ``count`` ports (params ``id0``...): one statement per count, without
    an expanding IN, so that it is compiled once and runs direct (``store.direct``)."""
    ids = [sa.bindparam(f"id{i}", type_=ID) for i in range(count)]
    where = _PORTS.c.id == ids[0] if count == 1 else _PORTS.c.id.in_(ids)
    return _PORTS_WITH_SEGMENTS_BASE.where(where)


def ports_with_segments(
    session: Executor, port_ids: Sequence[str]
) -> tuple[dict[str, sa.Row[Any]], dict[str, tuple[str, list[sa.Row[Any]]]]]:
    """The ports of ``port_ids`` (id -> row), and for each of their networks its name and
    segment rows in order, in one query (the placement hot path)."""
    if not port_ids:
        return {}, {}
    query = _ports_with_segments(len(port_ids))
    params = {f"id{i}": port_id for i, port_id in enumerate(port_ids)}
    ports: dict[str, sa.Row[Any]] = {}
    networks: dict[str, tuple[str, list[sa.Row[Any]]]] = {}
    seen: set[tuple[str, str]] = set()
    for row in connection_of(session).execute(query, params):
        ports.setdefault(row.id, row)
        _, segments = networks.setdefault(row.network_id, (row.n_name, []))
        if (row.network_id, row.s_id) not in seen:
            seen.add((row.network_id, row.s_id))
            segments.append(row)
    return ports, networks


def unbind_ports(session: Session, server_id: str) -> list[Port]:
    """Detach every port of a server and clear its binding; status back to DOWN. A port
    that was lent its PF's MAC gets its own back (reserved meanwhile: no clash)."""
    ports = list_ports(session, device_id=server_id)
    now = utcnow()
    for port in ports:
        if port.own_mac_address is not None:
            port.mac_address, port.own_mac_address = port.own_mac_address, None
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
    """Delete a port that no server uses; False if there is no such port. PortInUse if a
    server uses it, also when one took it since the caller looked (the condition is part of
    the DELETE, so a placement committing meanwhile is never left without its port)."""
    result = session.execute(
        sa.delete(Port).where(Port.id == port_id, Port.device_id.is_(None)),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        return True
    holder = session.scalar(sa.select(Port.device_id).where(Port.id == port_id))
    if holder is None:
        return False
    raise PortInUse(f"port {port_id} is used by server {holder}: delete the server first")
