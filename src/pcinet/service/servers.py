"""Servers: schedule a host and its exact devices, claim them, bind every port and record
the desired VF state, in ONE transaction; delete gives everything back and asks the host
to restore its VFs.

Creating a server:
1. read its ports (the caller's, not used by another server) and their networks; turn the
   flavor and the ports into the scheduler's request (``core.port.server_requests``);
2. ``SnapshotCache.reserve``: decide on the in-memory snapshot and take the devices from it;
3. one unit of work: ``claims.claim`` (compare-and-swap on the host's generation, devices
   re-checked in SQL), ``core.binding.bind_port`` for each port (a device that cannot
   reach the segment is a ConsistencyError: a bug, never a user error), the ports'
   binding fields, and the VF state of each VF port;
4. a lost race (ConcurrentUpdate) reloads the host and goes back to 2, at most
   ``Controller.claim_attempts`` times, then 409 ``concurrent_update``. No valid host is
   answered only after one refresh of the snapshot (so a stale view never says no).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.alias import ALIAS_EXTRA_SPEC, parse_aliases
from pcinet.core.binding import VIF_TYPE_PF, VIF_TYPE_VF, PortBinding, bind_port
from pcinet.core.errors import NetworkNotServable
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.network import Network
from pcinet.core.port import Port, VnicType, server_requests
from pcinet.core.request import NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest
from pcinet.service.cache import Reservation
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, NotFound
from pcinet.service.validate import body_object, string
from pcinet.service.views import server_view
from pcinet.store import ports as store_ports
from pcinet.store import servers as store_servers
from pcinet.store import vf_states
from pcinet.store.aliases import list_aliases
from pcinet.store.claims import NewServer, claim, release
from pcinet.store.errors import ConcurrentUpdate, PortInUse
from pcinet.store.models import Allocation, Device, new_id
from pcinet.store.models import Network as NetworkRow
from pcinet.store.models import Port as PortRow
from pcinet.store.models import Segment as SegmentRow
from pcinet.store.networks import core_network, segments_of

SERVER_KEYS = ("name", "flavor", "ports", "description")
VIF_TYPE_NORMAL = "ovs"


@dataclass(frozen=True, slots=True)
class _Plan:
    """A create request, validated, with what binding needs."""

    name: str
    project_id: str
    flavor: Mapping[str, Any]
    ports: tuple[PortRow, ...]
    core_ports: tuple[Port, ...]
    networks: tuple[Network, ...]
    segments: Mapping[str, Sequence[SegmentRow]]
    request: PlacementRequest


def _port_ids(data: Mapping[str, Any]) -> list[str]:
    raw = data.get("ports", [])
    if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
        raise InvalidRequest("server.ports: expected a list of port ids", field="server.ports")
    if len(set(raw)) != len(raw):
        dup = next(p for p in raw if raw.count(p) > 1)
        raise InvalidRequest(f"server.ports: port {dup} is listed twice", field="server.ports")
    return raw


def core_port(row: PortRow) -> Port:
    return Port(
        network=row.network_id,
        vnic_type=VnicType(row.vnic_type),
        profile=row.profile,
        mac_address=row.mac_address,
        port_security_enabled=row.port_security_enabled,
        admin_state_up=row.admin_state_up,
        numa_affinity_policy=(
            NumaPolicy(row.numa_affinity_policy) if row.numa_affinity_policy else None
        ),
        id=row.id,
        name=row.name or None,
    )


def _prepare(ctl: Controller, caller: Caller, body: Any) -> _Plan:
    data = body_object(body, "server", SERVER_KEYS)
    name = string(data, "name", "server")
    if not name:
        raise InvalidRequest("server.name: expected a non-empty string", field="server.name")
    if "flavor" not in data:
        raise InvalidRequest("server.flavor: required property is missing", field="server.flavor")
    flavor = Flavor.from_dict(data["flavor"], where="server.flavor")
    port_ids = _port_ids(data)
    with ctl.unit(readonly=True) as session:
        rows = {r.id: r for r in store_ports.list_ports(session, ids=port_ids)}
        ports = []
        for i, port_id in enumerate(port_ids):
            row = rows.get(port_id)
            if row is None or not caller.owns(row.project_id):
                raise NotFound(
                    f"server.ports[{i}]: port {port_id} not found", field=f"server.ports[{i}]"
                )
            if row.device_id is not None:
                raise PortInUse(
                    f"server.ports[{i}]: port {port_id} is used by server {row.device_id}",
                    field=f"server.ports[{i}]",
                )
            ports.append(row)
        network_ids = sorted({p.network_id for p in ports})
        segments = segments_of(session, network_ids)
        nets = {
            n.id: core_network(n, segments[n.id])
            for n in session.scalars(sa.select(NetworkRow).where(NetworkRow.id.in_(network_ids)))
        }
        aliases = (
            parse_aliases(list_aliases(session)) if ALIAS_EXTRA_SPEC in flavor.extra_specs else {}
        )
    reqs = flavor_requirements(flavor, aliases)
    cores = tuple(core_port(r) for r in ports)
    networks = tuple(nets[r.network_id] for r in ports)
    pairs = list(zip(cores, networks, strict=True))

    def requests() -> tuple[PciRequest, ...]:
        return server_requests(
            reqs.alias_requests,
            pairs,
            numa_policy=reqs.pci_numa_policy,
            servable_physnets=ctl.cache.servable_physnets(),
        )

    ctl.cache.maybe_refresh()
    try:
        pci = requests()
    except NetworkNotServable:
        ctl.cache.refresh()  # hosts may have been reported to another replica just now
        pci = requests()
    return _Plan(
        name=name,
        project_id=caller.project_id,
        flavor={
            "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb,
            "extra_specs": dict(flavor.extra_specs),
        },
        ports=tuple(ports),
        core_ports=cores,
        networks=networks,
        segments=segments,
        request=PlacementRequest(
            vcpus=reqs.vcpus, memory_mb=reqs.memory_mb, pci=pci, guest_cells=reqs.guest_cells
        ),
    )


def create(ctl: Controller, caller: Caller, body: Any) -> dict[str, Any]:
    plan = _prepare(ctl, caller, body)
    server_id = new_id()
    refreshed = False
    attempts = 0
    while True:
        ctl.cache.maybe_refresh()
        outcome = ctl.cache.reserve(plan.request, seed=ctl.next_seed())
        if not isinstance(outcome, Reservation):
            if refreshed:
                raise outcome.no_valid_host()
            ctl.cache.refresh(heartbeats_too=True)
            refreshed = True
            continue
        attempts += 1
        try:
            with ctl.unit() as session:
                generation = _commit(session, plan, outcome, server_id)
                view = _view(session, server_id, outcome.host)
        except ConcurrentUpdate:
            ctl.cache.failed(outcome)
            if attempts >= ctl.claim_attempts:
                raise ConcurrentUpdate(
                    f"the claim lost its race {attempts} times on fresh state; try again"
                ) from None
            continue
        except BaseException:
            ctl.cache.failed(outcome)
            raise
        ctl.cache.committed(outcome, generation)
        return view


def _segment_row(rows: Sequence[SegmentRow], binding: PortBinding) -> SegmentRow:
    seg = binding.segment
    for row in rows:
        if (
            row.network_type == seg.network_type.value
            and row.physical_network == seg.physical_network
            and row.segmentation_id == seg.segmentation_id
        ):
            return row
    raise AssertionError(f"bound segment {seg} is not a segment of the network")


def _commit(session: Session, plan: _Plan, res: Reservation, server_id: str) -> int:
    """Claim, bind, record VF state; return the host's new generation."""
    vf_ports = 0
    bindings: list[tuple[int, PortBinding, str]] = []
    for r, pci in enumerate(plan.request.pci):
        if pci.kind is RequestKind.PORT:
            index = int(pci.source)
            device = res.devices[r][0]
            binding = bind_port(plan.core_ports[index], plan.networks[index], device)
            bindings.append((index, binding, device.address))
            vf_ports += binding.vif_type == VIF_TYPE_VF
    generation = claim(
        session,
        host_id=res.host_id,
        seen_generation=res.seen_generation,
        server=NewServer(
            project_id=plan.project_id,
            name=plan.name,
            flavor=plan.flavor,
            status="BUILD" if vf_ports else "ACTIVE",
            id=server_id,
        ),
        devices=[(d, r) for r, ids in enumerate(res.device_ids) for d in ids],
        vcpus=res.vcpus,
        memory_mb=res.memory_mb,
        cells=res.cells,
    )
    bound = {index for index, _, _ in bindings}
    for index, binding, address in bindings:
        port = plan.ports[index]
        segment = _segment_row(plan.segments[port.network_id], binding)
        store_ports.bind_port(
            session,
            port.id,
            server_id=server_id,
            status="BUILD" if binding.vif_type == VIF_TYPE_VF else "ACTIVE",
            binding={
                "binding_host_id": res.host,
                "binding_vif_type": binding.vif_type,
                "binding_vif_details": dict(binding.vif_details),
                "binding_profile": dict(binding.profile),
                "segment_id": segment.id,
                "pci_address": address,
            },
        )
        if binding.vif_type == VIF_TYPE_VF:
            vf_states.set_desired(
                session,
                host_id=res.host_id,
                pci_address=address,
                port_id=port.id,
                desired=desired_vf_state(port, plan.core_ports[index], binding),
            )
    for index, port in enumerate(plan.ports):
        if index not in bound:  # a normal port: attached, for the virtual switch's agent
            store_ports.bind_port(
                session,
                port.id,
                server_id=server_id,
                binding={"binding_host_id": res.host, "binding_vif_type": VIF_TYPE_NORMAL},
            )
    return generation


def desired_vf_state(row: PortRow, port: Port, binding: PortBinding) -> dict[str, Any]:
    """What the host's agent programs on the VF (``ip link set <pf> vf N ...``)."""
    return {
        "vlan": binding.vlan,
        "mac": row.mac_address,
        "spoofchk": row.port_security_enabled,
        "trust": port.trusted,
        "link_state": "enable" if row.admin_state_up else "disable",
        "min_tx_rate": row.min_tx_rate,
        "max_tx_rate": row.max_tx_rate,
    }


def _pci_devices(session: Session, server_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in server_ids}
    if not server_ids:
        return out
    rows = session.execute(
        sa.select(Allocation.server_id, Allocation.request_index, Device.address, Device.dev_type)
        .join(Device, Device.id == Allocation.device_id)
        .where(Allocation.server_id.in_(server_ids))
        .order_by(Allocation.server_id, Allocation.request_index, Device.address)
    )
    for server_id, index, address, dev_type in rows:
        out[server_id].append({"address": address, "dev_type": dev_type, "request": index})
    return out


def _view(session: Session, server_id: str, host: str | None) -> dict[str, Any]:
    row = store_servers.get_server(session, server_id)
    assert row is not None
    ports = store_ports.list_ports(session, device_id=server_id)
    return server_view(
        row, host=host, ports=ports, pci_devices=_pci_devices(session, [server_id])[server_id]
    )


def _owned(caller: Caller, row: Any, server_id: str) -> Any:
    if row is None or not caller.owns(row.project_id):
        raise NotFound(f"server {server_id} not found")
    return row


def get(ctl: Controller, caller: Caller, server_id: str) -> dict[str, Any]:
    with ctl.unit(readonly=True) as session:
        row = _owned(caller, store_servers.get_server(session, server_id), server_id)
        names = store_servers.host_names(session, {row.host_id} if row.host_id else set())
        return _view(session, server_id, names.get(row.host_id or ""))


def list_servers(
    ctl: Controller,
    caller: Caller,
    *,
    name: str | None = None,
    status: str | None = None,
    host: str | None = None,
) -> list[dict[str, Any]]:
    with ctl.unit(readonly=True) as session:
        rows = store_servers.list_servers(
            session, project_id=None if caller.is_admin else caller.project_id, name=name
        )
        names = store_servers.host_names(session, {r.host_id for r in rows if r.host_id})
        rows = [
            r
            for r in rows
            if (status is None or r.status == status)
            and (host is None or names.get(r.host_id or "") == host)
        ]
        ids = [r.id for r in rows]
        by_server: dict[str, list[PortRow]] = {i: [] for i in ids}
        if ids:
            for port in session.scalars(
                sa.select(PortRow).where(PortRow.device_id.in_(ids)).order_by(PortRow.created_at)
            ):
                by_server[port.device_id or ""].append(port)
        devices = _pci_devices(session, ids)
        return [
            server_view(
                r,
                host=names.get(r.host_id or ""),
                ports=by_server[r.id],
                pci_devices=devices[r.id],
            )
            for r in rows
        ]


def delete(ctl: Controller, caller: Caller, server_id: str) -> None:
    """Release devices and compute (idempotent), unbind the ports, mark the VFs for
    restore, delete the row."""
    with ctl.unit() as session:
        _owned(caller, store_servers.get_server(session, server_id), server_id)
        released = release(session, server_id)
        ports = store_ports.list_ports(session, device_id=server_id)
        if released is not None:
            for port in ports:
                if port.binding_vif_type == VIF_TYPE_VF and port.pci_address:
                    vf_states.mark_restore(
                        session, host_id=released.host_id, pci_address=port.pci_address
                    )
        store_ports.unbind_ports(session, server_id)
        store_servers.delete_server(session, server_id)
    if released is not None:
        ctl.cache.released(
            released.host_name,
            generation=released.generation,
            addresses=released.addresses,
            vcpus=released.vcpus,
            memory_mb=released.memory_mb,
            cells=released.cells,
        )


def refresh_server_status(session: Session, server_id: str) -> None:
    """BUILD while a VF port is not ACTIVE, ERROR if one is ERROR, ACTIVE otherwise."""
    ports = [
        p
        for p in store_ports.list_ports(session, device_id=server_id)
        if p.binding_vif_type in (VIF_TYPE_VF, VIF_TYPE_PF)
    ]
    statuses = {p.status for p in ports}
    status = "ERROR" if "ERROR" in statuses else "ACTIVE" if statuses <= {"ACTIVE"} else "BUILD"
    store_servers.set_server_status(session, server_id, status)
