"""``pcinet admin check``: the invariants of ARCHITECTURE.md, verified in the database itself.

``check(engine)`` reads one consistent snapshot (a read-only transaction) and returns every
violation found, each ``Violation(invariant, detail)``:

- ``device_held_once``: a device is held by at most one allocation, and bound to at most one
  port;
- ``pf_and_vf_held``: a PF is never held together with one of its VFs, nor held while
  its host reports one of its VFs in use outside pcinet (or a VF while the host reports its
  PF in use); a device the host reports in use is not an allocation, and is otherwise no
  violation;
- ``bound_port_physnet``: a bound port's device exists on its host, is held by the port's
  server, and carries the physnet of the port's segment;
- ``vlan_unique``: a VLAN id of a physnet belongs to at most one segment (and a physnet to at
  most one flat segment);
- ``allocation_live_server``: every allocation belongs to an existing server placed on the
  allocation's host;
- ``host_usage``: a host's ``vcpus_used``, ``memory_used_mb`` and per-cell usage equal the
  sums over its servers;
- ``vf_port_state``: every port bound to a VF has the VF state (action ``apply``) of that VF;
- ``lent_mac``: a port keeps its own MAC aside (``own_mac_address``) only while bound to a
  PF, and no other port of its network has that MAC (so release can give it back).

Reading is plain SQL, the comparisons are in Python (JSON columns read alike on SQLite and
PostgreSQL); the cost is one pass over each table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from pcinet.core.binding import VIF_TYPE_PF, VIF_TYPE_VF
from pcinet.store.db import readonly_options
from pcinet.store.models import (
    Port,
    Segment,
    VfState,
    allocation_table,
    device_table,
    host_table,
    server_table,
)

INVARIANTS = (
    "device_held_once",
    "pf_and_vf_held",
    "bound_port_physnet",
    "vlan_unique",
    "allocation_live_server",
    "host_usage",
    "vf_port_state",
    "lent_mac",
)
PORT = cast(sa.Table, Port.__table__)
SEG = cast(sa.Table, Segment.__table__)
VF = cast(sa.Table, VfState.__table__)
ALLOC, DEV, HOST, SRV = allocation_table, device_table, host_table, server_table


@dataclass(frozen=True, slots=True)
class Violation:
    invariant: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


def check(engine: Engine) -> list[Violation]:
    """Every violation of the invariants in the database (empty: all hold)."""
    with engine.connect().execution_options(**readonly_options(engine)) as conn, conn.begin():
        return [
            *_held_once(conn),
            *_pf_and_vf(conn),
            *_bound_port_physnet(conn),
            *_vlan_unique(conn),
            *_live_server(conn),
            *_host_usage(conn),
            *_vf_port_state(conn),
            *_lent_mac(conn),
        ]


def check_url(database_url: str) -> dict[str, Any]:
    """The report of :func:`check` on the database at ``database_url`` (its own engine)."""
    from pcinet.store.db import make_engine

    engine = make_engine(database_url)
    try:
        return report(check(engine))
    finally:
        engine.dispose()


def report(violations: list[Violation]) -> dict[str, Any]:
    """The JSON answer: ``{"ok": bool, "violations": [{"invariant", "detail"}]}``."""
    return {"ok": not violations, "violations": [v.to_dict() for v in violations]}


def _held_once(conn: Connection) -> Iterator[Violation]:
    twice = conn.execute(
        sa.select(ALLOC.c.device_id, sa.func.count())
        .group_by(ALLOC.c.device_id)
        .having(sa.func.count() > 1)
    )
    for device_id, count in twice:
        yield Violation("device_held_once", f"device {device_id} has {count} allocations")
    bound = conn.execute(
        sa.select(PORT.c.binding_host_id, PORT.c.pci_address, sa.func.count())
        .where(PORT.c.pci_address.is_not(None), PORT.c.device_id.is_not(None))
        .group_by(PORT.c.binding_host_id, PORT.c.pci_address)
        .having(sa.func.count() > 1)
    )
    for host, address, count in bound:
        yield Violation(
            "device_held_once", f"device {address} of host {host} is bound to {count} ports"
        )


def _pf_and_vf(conn: Connection) -> Iterator[Violation]:
    vf, pf = DEV.alias("vf"), DEV.alias("pf")
    va, pa = ALLOC.alias("va"), ALLOC.alias("pa")
    rows = conn.execute(
        sa.select(pf.c.address, vf.c.address, pa.c.server_id, va.c.server_id, HOST.c.name)
        .select_from(
            vf.join(va, va.c.device_id == vf.c.id)
            .join(pf, sa.and_(pf.c.host_id == vf.c.host_id, pf.c.address == vf.c.parent_address))
            .join(pa, pa.c.device_id == pf.c.id)
            .join(HOST, HOST.c.id == vf.c.host_id)
        )
        .order_by(HOST.c.name, pf.c.address, vf.c.address)
    )
    for pf_address, vf_address, pf_server, vf_server, host in rows:
        yield Violation(
            "pf_and_vf_held",
            f"host {host}: PF {pf_address} (server {pf_server}) and its VF {vf_address} "
            f"(server {vf_server}) are both held",
        )
    yield from _held_against_reported(conn)


def _held_against_reported(conn: Connection) -> Iterator[Violation]:
    """Allocations whose PF or VF the host reports in use (``store.hosts``): the selected
    devices reported ``allocated`` and the host's ``unselected_allocated``."""
    in_use: dict[str, dict[str, str | None]] = defaultdict(dict)  # host id: address -> parent
    for host_id, address, parent in conn.execute(
        sa.select(DEV.c.host_id, DEV.c.address, DEV.c.parent_address).where(
            DEV.c.reported_status == "allocated"
        )
    ):
        in_use[host_id][address] = parent
    for host_id, unselected in conn.execute(sa.select(HOST.c.id, HOST.c.unselected_allocated)):
        for device in unselected or ():
            in_use[host_id][device["address"]] = device["parent_address"]
    held = conn.execute(
        sa.select(
            HOST.c.name, DEV.c.host_id, DEV.c.address, DEV.c.parent_address, ALLOC.c.server_id
        )
        .select_from(
            DEV.join(ALLOC, ALLOC.c.device_id == DEV.c.id).join(HOST, HOST.c.id == DEV.c.host_id)
        )
        .order_by(HOST.c.name, DEV.c.address)
    )
    for host, host_id, address, parent, server in held:
        reported = in_use.get(host_id, {})
        if parent is not None and parent in reported:
            yield Violation(
                "pf_and_vf_held",
                f"host {host}: VF {address} (server {server}) is held while its PF {parent} "
                "is reported in use",
            )
        for vf in sorted(a for a, p in reported.items() if p == address):
            yield Violation(
                "pf_and_vf_held",
                f"host {host}: PF {address} (server {server}) is held while its VF {vf} is "
                "reported in use",
            )


def _bound_port_physnet(conn: Connection) -> Iterator[Violation]:
    rows = conn.execute(
        sa.select(
            PORT.c.id,
            PORT.c.device_id,
            PORT.c.binding_host_id,
            PORT.c.pci_address,
            SEG.c.physical_network,
            DEV.c.tags,
            ALLOC.c.server_id,
        )
        .select_from(
            PORT.join(SEG, SEG.c.id == PORT.c.segment_id)
            .outerjoin(HOST, HOST.c.name == PORT.c.binding_host_id)
            .outerjoin(
                DEV, sa.and_(DEV.c.host_id == HOST.c.id, DEV.c.address == PORT.c.pci_address)
            )
            .outerjoin(ALLOC, ALLOC.c.device_id == DEV.c.id)
        )
        .where(PORT.c.pci_address.is_not(None), PORT.c.device_id.is_not(None))
        .order_by(PORT.c.id)
    )
    for port, server, host, address, physnet, tags, holder in rows:
        where = f"port {port} (server {server}) on {host} {address}"
        if tags is None:
            yield Violation("bound_port_physnet", f"{where}: no such device")
            continue
        if holder != server:
            yield Violation(
                "bound_port_physnet", f"{where}: the device is held by {holder or 'nobody'}"
            )
        tagged = (tags or {}).get("physical_network")
        if physnet is not None and tagged != physnet:
            yield Violation(
                "bound_port_physnet",
                f"{where}: the segment's physnet is {physnet}, the device's is {tagged}",
            )


def _vlan_unique(conn: Connection) -> Iterator[Violation]:
    vlans = conn.execute(
        sa.select(SEG.c.physical_network, SEG.c.segmentation_id, sa.func.count())
        .where(SEG.c.network_type == "vlan", SEG.c.segmentation_id.is_not(None))
        .group_by(SEG.c.physical_network, SEG.c.segmentation_id)
        .having(sa.func.count() > 1)
    )
    for physnet, vlan, count in vlans:
        yield Violation("vlan_unique", f"VLAN {vlan} of {physnet} belongs to {count} segments")
    flats = conn.execute(
        sa.select(SEG.c.physical_network, sa.func.count())
        .where(SEG.c.network_type == "flat")
        .group_by(SEG.c.physical_network)
        .having(sa.func.count() > 1)
    )
    for physnet, count in flats:
        yield Violation("vlan_unique", f"physnet {physnet} has {count} flat segments")


def _live_server(conn: Connection) -> Iterator[Violation]:
    rows = conn.execute(
        sa.select(ALLOC.c.device_id, ALLOC.c.server_id, SRV.c.id, SRV.c.host_id, ALLOC.c.host_id)
        .select_from(ALLOC.outerjoin(SRV, SRV.c.id == ALLOC.c.server_id))
        .where(
            sa.or_(SRV.c.id.is_(None), SRV.c.host_id.is_(None), SRV.c.host_id != ALLOC.c.host_id)
        )
        .order_by(ALLOC.c.device_id)
    )
    for device, server, found, on_host, alloc_host in rows:
        why = (
            "does not exist"
            if found is None
            else "is released"
            if on_host is None
            else f"is on host {on_host}"
        )
        yield Violation(
            "allocation_live_server",
            f"device {device} (host {alloc_host}) is held by server {server}, which {why}",
        )


def _host_usage(conn: Connection) -> Iterator[Violation]:
    vcpus: dict[str, int] = defaultdict(int)
    memory: dict[str, int] = defaultdict(int)
    cells: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    servers = conn.execute(
        sa.select(SRV.c.host_id, SRV.c.vcpus, SRV.c.memory_mb, SRV.c.cells).where(
            SRV.c.host_id.is_not(None)
        )
    )
    for host_id, srv_vcpus, srv_memory, srv_cells in servers:
        vcpus[host_id] += srv_vcpus
        memory[host_id] += srv_memory
        for cell in srv_cells or ():
            use = cells[host_id][str(cell["host_cell"])]
            use[0] += int(cell["vcpus"])
            use[1] += int(cell["memory_mb"])
    hosts = conn.execute(
        sa.select(
            HOST.c.id, HOST.c.name, HOST.c.vcpus_used, HOST.c.memory_used_mb, HOST.c.cells_used
        ).order_by(HOST.c.name)
    )
    for host_id, name, vcpus_used, memory_used, cells_used in hosts:
        if vcpus_used != vcpus[host_id] or memory_used != memory[host_id]:
            yield Violation(
                "host_usage",
                f"host {name}: usage {vcpus_used} vCPUs, {memory_used} MB; its servers "
                f"{vcpus[host_id]} vCPUs, {memory[host_id]} MB",
            )
        recorded = {
            k: [int(v.get("vcpus", 0)), int(v.get("memory_mb", 0))]
            for k, v in (cells_used or {}).items()
            if v.get("vcpus", 0) or v.get("memory_mb", 0)
        }
        summed = {k: v for k, v in cells[host_id].items() if v != [0, 0]}
        if recorded != summed:
            yield Violation(
                "host_usage",
                f"host {name}: cell usage {_cells_text(recorded)}; its servers "
                f"{_cells_text(summed)}",
            )


def _cells_text(cells: dict[str, list[int]]) -> str:
    if not cells:
        return "none"
    return ", ".join(f"cell {k}: {v[0]} vCPUs {v[1]} MB" for k, v in sorted(cells.items()))


def _vf_port_state(conn: Connection) -> Iterator[Violation]:
    rows = conn.execute(
        sa.select(
            PORT.c.id,
            PORT.c.binding_host_id,
            PORT.c.pci_address,
            VF.c.port_id,
            VF.c.action,
            HOST.c.id,
        )
        .select_from(
            PORT.outerjoin(HOST, HOST.c.name == PORT.c.binding_host_id).outerjoin(
                VF, sa.and_(VF.c.host_id == HOST.c.id, VF.c.pci_address == PORT.c.pci_address)
            )
        )
        .where(
            PORT.c.binding_vif_type == VIF_TYPE_VF,
            PORT.c.device_id.is_not(None),
            PORT.c.pci_address.is_not(None),
        )
        .order_by(PORT.c.id)
    )
    for port, host, address, state_port, action, host_id in rows:
        where = f"port {port} on {host} VF {address}"
        if host_id is None:
            yield Violation("vf_port_state", f"{where}: no such host")
        elif state_port is None and action is None:
            yield Violation("vf_port_state", f"{where}: no VF state")
        elif state_port != port or action != "apply":
            yield Violation(
                "vf_port_state",
                f"{where}: the VF state is {action} for port {state_port}",
            )


def _lent_mac(conn: Connection) -> Iterator[Violation]:
    lenders = conn.execute(
        sa.select(
            PORT.c.id,
            PORT.c.network_id,
            PORT.c.own_mac_address,
            PORT.c.device_id,
            PORT.c.binding_vif_type,
        )
        .where(PORT.c.own_mac_address.is_not(None))
        .order_by(PORT.c.id)
    ).all()
    if not lenders:
        return
    holders = {
        (net, mac): port
        for port, net, mac in conn.execute(
            sa.select(PORT.c.id, PORT.c.network_id, PORT.c.mac_address)
        )
    }
    for port, network, own, server, vif_type in lenders:
        if server is None or vif_type != VIF_TYPE_PF:
            bound = f"bound as {vif_type}" if server is not None else "not bound"
            yield Violation("lent_mac", f"port {port} keeps its own MAC {own} aside but is {bound}")
        other = holders.get((network, own))
        if other is not None and other != port:
            yield Violation(
                "lent_mac",
                f"port {port}'s own MAC {own} (lent away) is port {other}'s on network {network}",
            )
