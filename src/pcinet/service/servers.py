"""Servers: schedule a host and its exact devices, claim them, bind every port and record
the desired VF state, in ONE transaction; delete gives everything back and asks the host
to restore its VFs.

Creating a server:
1. read its ports (the caller's, not used by another server) and their networks, unless
   this process knows them (``service.portcache``: ports it created, networks it read);
   turn the flavor and the ports into the scheduler's request (``core.port.server_requests``);
2. ``SnapshotCache.reserve``: decide on the in-memory snapshot and take the devices from it;
3. one unit of work: ``claims.claim`` (compare-and-swap on the host's generation, devices
   re-checked in SQL), ``core.binding.bind_port`` for each port (a device that cannot
   reach the segment is a ConsistencyError: a bug, never a user error), the ports'
   binding fields, and the VF state of each VF port;
4. a port taken meanwhile (PortInUse from the write: another server has it, or it was
   deleted on another replica), or any failure on ports this process remembered, reads the
   ports again: if they are the reason, the answer says so precisely (port_in_use naming
   the server, or not_found);
5. a lost race (ConcurrentUpdate) reloads the host and goes back to 2, at most
   ``Controller.claim_attempts`` times, then 409 ``concurrent_update``. No valid host is
   answered only after one refresh of the snapshot (so a stale view never says no).

A ``direct-physical`` port takes its PF's MAC, as in Nova (the guest uses the PF's
burnt-in MAC), when the host reported one; its own MAC is kept (``own_mac_address``) and
given back on delete. Another port of the network with that MAC makes the create 409
``mac_address_in_use`` naming that port, the network and the PF, with nothing written.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import SimpleNamespace
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.alias import ALIAS_EXTRA_SPEC, parse_alias_extra_spec, parse_aliases
from pcinet.core.binding import VIF_TYPE_PF, VIF_TYPE_VF, PortBinding, bind_port, usable_mac
from pcinet.core.errors import NetworkNotServable, PcinetError
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.network import Network, NetworkType, Segment
from pcinet.core.pci import DevType
from pcinet.core.port import Port, VnicType, server_requests
from pcinet.core.request import NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest
from pcinet.service.cache import Reservation
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, NotFound
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.servers import ServerCreate
from pcinet.service.quotas import limits_for
from pcinet.service.views import port_view, server_view, time_text
from pcinet.store import ports as store_ports
from pcinet.store import servers as store_servers
from pcinet.store import vf_states
from pcinet.store.aliases import list_aliases
from pcinet.store.claims import NewServer, release
from pcinet.store.errors import ConcurrentUpdate, LentMacTaken, MacAddressInUse, PortInUse
from pcinet.store.models import Allocation, Device, Server
from pcinet.store.models import Port as PortRow
from pcinet.store.placements import (
    MacLend,
    PlacementWrite,
    PortAttach,
    VfDesired,
    place,
    single_statement,
)
from pcinet.store.quotas import enforce
from pcinet.store.uow import Executor

VIF_TYPE_NORMAL = "ovs"


@dataclass(frozen=True, slots=True)
class _Plan:
    """A create request, validated, with what binding needs."""

    name: str
    project_id: str
    flavor: Mapping[str, Any]
    ports: tuple[sa.Row[Any], ...]
    core_ports: tuple[Port, ...]
    networks: tuple[Network, ...]
    # Per network id: the id of each segment, by (type, physnet, segmentation id).
    segment_ids: Mapping[str, Mapping[tuple[str, str | None, int | None], str]]
    request: PlacementRequest


def _port_ids(raw: list[str]) -> list[str]:
    if len(set(raw)) != len(raw):
        dup = next(p for p in raw if raw.count(p) > 1)
        raise InvalidRequest(f"server.ports: port {dup} is listed twice", field="server.ports")
    return raw


def core_port(row: Any) -> Port:
    """The core's port from a stored port row (ORM object or Core row)."""
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


@dataclass(frozen=True, slots=True)
class _Body:
    name: str
    description: str
    flavor: Flavor
    port_ids: list[str]


def _parse(body: ServerCreate | Any) -> _Body:
    request = parse(ServerCreate, body)
    flavor = Flavor.from_dict(request.flavor.data(), where="server.flavor")
    return _Body(request.name, request.description, flavor, _port_ids(request.ports))


class _Inputs(NamedTuple):
    ports: Mapping[str, Any]  # id -> row
    networks: Mapping[str, tuple[str, list[Any]]]  # id -> name and segment rows
    aliases: Mapping[str, Any]
    remembered: bool  # the ports came from the port cache


def _read(ctl: Controller, body: _Body, *, fresh: bool = False) -> _Inputs:
    """The ports and their networks, from the controller's port cache when it knows them
    all (and not ``fresh``), else in one read (autocommit: one statement); and the aliases
    when the flavor asks for any."""
    with_aliases = ALIAS_EXTRA_SPEC in body.flavor.extra_specs
    known = None if fresh else ctl.ports.get(body.port_ids)
    if known is not None and not with_aliases:
        return _Inputs(known[0], known[1], {}, True)
    with ctl.core_unit(autocommit=True) as conn:
        rows, networks = known or store_ports.ports_with_segments(conn, body.port_ids)
        aliases = parse_aliases(list_aliases(conn)) if with_aliases else {}
    if known is None:
        ctl.ports.remember_networks(networks)
    return _Inputs(rows, networks, aliases, known is not None)


def _usable_ports(caller: Caller, port_ids: Sequence[str], rows: Mapping[str, Any]) -> list[Any]:
    """The rows of ``port_ids``, in order: NotFound unless the caller's, PortInUse if a
    server has one."""
    ports = []
    for i, port_id in enumerate(port_ids):
        row = rows.get(port_id)
        if row is None or not caller.owns(row.project_id):
            field = f"server.ports[{i}]"
            raise NotFound(f"{field}: port {port_id} not found", field=field)
        if row.device_id is not None:
            raise PortInUse(
                f"server.ports[{i}]: port {port_id} is used by server {row.device_id}",
                field=f"server.ports[{i}]",
            )
        ports.append(row)
    return ports


def _prepare(
    ctl: Controller,
    caller: Caller,
    body: _Body,
    inputs: _Inputs,
    new_ports: Sequence[tuple[Port, Network]] = (),
) -> _Plan:
    """Check the ports (the caller's, not used by another server) and build the scheduler's
    request; ``new_ports`` (ports not created yet, for ``placement_request``) come after
    them."""
    flavor, port_ids = body.flavor, body.port_ids
    stored_networks, aliases = inputs.networks, inputs.aliases
    ports = _usable_ports(caller, port_ids, inputs.ports)
    nets: dict[str, Network] = {}
    segment_ids: dict[str, dict[tuple[str, str | None, int | None], str]] = {}
    for network_id, (network_name, segment_rows) in stored_networks.items():
        nets[network_id] = Network(
            name=network_name,
            id=network_id,
            segments=tuple(
                Segment(NetworkType(r.s_type), r.s_physnet, r.s_segid) for r in segment_rows
            ),
        )
        segment_ids[network_id] = {(r.s_type, r.s_physnet, r.s_segid): r.s_id for r in segment_rows}
    reqs = flavor_requirements(flavor, aliases)
    cores = tuple(core_port(r) for r in ports)
    networks = tuple(nets[r.network_id] for r in ports)
    pairs = [*zip(cores, networks, strict=True), *new_ports]

    def requests() -> tuple[PciRequest, ...]:
        return server_requests(
            reqs.alias_requests,
            pairs,
            numa_policy=reqs.pci_numa_policy,
            servable_physnets=ctl.cache.servable_physnets(),
        )

    try:
        pci = requests()
    except NetworkNotServable:
        ctl.cache.refresh()  # hosts may have been reported to another replica just now
        pci = requests()
    return _Plan(
        name=body.name,
        project_id=caller.project_id,
        flavor={
            "vcpus": flavor.vcpus,
            "memory_mb": flavor.memory_mb,
            "extra_specs": dict(flavor.extra_specs),
        },
        ports=tuple(ports),
        core_ports=cores,
        networks=networks,
        segment_ids=segment_ids,
        request=PlacementRequest(
            vcpus=reqs.vcpus, memory_mb=reqs.memory_mb, pci=pci, guest_cells=reqs.guest_cells
        ),
    )


def placement_request(
    ctl: Controller,
    caller: Caller,
    flavor: Flavor,
    port_ids: Sequence[str],
    new_ports: Sequence[tuple[Port, Network]] = (),
) -> PlacementRequest:
    """The scheduler's request that booting a server with ``flavor`` and the existing ports
    ``port_ids`` would make now, built by the boot's own code: the ports read afresh and
    checked as a boot checks them (400 for a port listed twice, 404 ``not_found`` unless
    the caller's, 409 ``port_in_use`` naming the server that holds one, each naming
    ``server.ports[i]``), their network, vnic type and ``binding:profile`` (``trusted``)
    and NUMA policy turned into PCI requests; then one per port of ``new_ports`` (not
    created yet: ``service.capacity``'s shapes). Nothing is claimed or written."""
    body = _Body("", "", flavor, _port_ids(list(port_ids)))
    return _prepare(ctl, caller, body, _read(ctl, body, fresh=True), new_ports).request


def create(ctl: Controller, caller: Caller, body: ServerCreate | Any) -> dict[str, Any]:
    """Place, claim, bind and record VF state in one unit of work (see the module
    docstring); return the server's view."""
    caller.require("admin", "member", action="creating a server")
    parsed = _parse(body)
    server = NewServer(
        project_id=caller.project_id,
        name=parsed.name,
        description=parsed.description,
        flavor={
            "vcpus": parsed.flavor.vcpus,
            "memory_mb": parsed.flavor.memory_mb,
            "extra_specs": dict(parsed.flavor.extra_specs),
        },
    )
    # The ports and networks are read once (or known: ``service.portcache``), outside the
    # claim's transaction: a network's segments never change, and whether a port is still
    # free is re-checked atomically when it is bound (PortInUse).
    inputs = _read(ctl, parsed)
    try:
        view = _place(ctl, _prepare(ctl, caller, parsed, inputs), server)
    except PcinetError as exc:
        ctl.metrics.refusals.labels(code=exc.code).inc()
        if isinstance(exc, PortInUse) or inputs.remembered:
            # A port taken by another server or deleted (on another replica) meanwhile, or
            # a remembered port that may be: read the ports again, and if that is the
            # reason, say so precisely (NotFound, or PortInUse naming the server).
            ctl.ports.forget(parsed.port_ids)
            _usable_ports(caller, parsed.port_ids, _read(ctl, parsed, fresh=True).ports)
        raise
    ctl.ports.forget(parsed.port_ids)  # attached now: the next use reads them
    return view


def _place(ctl: Controller, plan: _Plan, server: NewServer) -> dict[str, Any]:
    """Reserve on the snapshot and claim in the database, retrying a lost race on fresh
    state (see the module docstring)."""
    refreshed = False
    attempts = 0
    limits = limits_for(ctl, server.project_id)
    limited = "servers" in limits or "vfs" in limits
    while True:
        ctl.cache.maybe_refresh()
        started = time.perf_counter()
        outcome = ctl.cache.reserve(plan.request, seed=ctl.next_seed())
        ctl.metrics.decision_seconds.observe(time.perf_counter() - started)
        if not isinstance(outcome, Reservation):
            if refreshed:
                ctl.metrics.rejected(outcome.codes)
                raise outcome.no_valid_host()
            ctl.cache.refresh(heartbeats_too=True)  # a stale view never says no
            refreshed = True
            continue
        attempts += 1
        try:
            alone = not limited and single_statement(
                ctl.engine.dialect.name, outcome.device_ids, _lent_macs(plan, outcome)
            )
            with ctl.cache.claiming(outcome) as seen:
                started = time.perf_counter()
                with ctl.core_unit(autocommit=alone) as conn:
                    generation, ports = _commit(conn, plan, outcome, server, seen)
                    if limited:
                        enforce(conn, server.project_id, limits, ("servers", "vfs"))
                ctl.metrics.claim_seconds.observe(time.perf_counter() - started)
                ctl.cache.committed(outcome, seen, generation)
        except LentMacTaken as exc:
            ctl.cache.failed(outcome)
            clash = _mac_clash(ctl, plan, outcome, exc)
            if clash is None and attempts < ctl.claim_attempts:
                continue  # the port holding the MAC let it go meanwhile
            raise clash or MacAddressInUse(exc.message, field="server.ports") from None
        except ConcurrentUpdate:
            ctl.cache.conflicts += 1
            ctl.metrics.conflicts.inc()
            ctl.cache.failed(outcome)
            if attempts >= ctl.claim_attempts:
                raise ConcurrentUpdate(
                    f"the claim lost its race {attempts} times on fresh state; try again"
                ) from None
            ctl.metrics.retries.inc()
            continue
        except BaseException:
            ctl.cache.failed(outcome)
            raise
        ctl.metrics.placements.inc()
        return _created_view(plan, outcome, server, ports)


def _commit(
    conn: Executor, plan: _Plan, res: Reservation, server: NewServer, seen: int
) -> tuple[int, list[dict[str, Any]]]:
    """Bind every port (a device that cannot reach its segment is a ConsistencyError), then
    claim, attach and record the VF states at once (``store.placements.place``); return the
    host's new generation and the views of the server's ports, in its order."""
    attached: dict[int, dict[str, Any]] = {}
    vfs: list[VfDesired] = []
    lends: list[MacLend] = []
    for r, pci in enumerate(plan.request.pci):
        if pci.kind is not RequestKind.PORT:
            continue
        index = int(pci.source)
        port, device = plan.ports[index], res.devices[r][0]
        binding = bind_port(
            plan.core_ports[index],
            plan.networks[index],
            device,
            pf_mac_address=res.pf_macs.get(device.address),
            vf_num=device.vf_index,
        )
        seg = binding.segment
        attached[index] = {
            "binding_host_id": res.host,
            "binding_vif_type": binding.vif_type,
            "binding_vif_details": dict(binding.vif_details),
            "binding_profile": dict(binding.profile),
            "segment_id": plan.segment_ids[port.network_id][
                (seg.network_type.value, seg.physical_network, seg.segmentation_id)
            ],
            "pci_address": device.address,
            "device_position": index,
            "status": "BUILD" if binding.vif_type == VIF_TYPE_VF else "ACTIVE",
        }
        if binding.mac_address is not None and binding.mac_address != port.mac_address:
            attached[index].update(
                mac_address=binding.mac_address, own_mac_address=port.mac_address
            )
            lends.append(MacLend(port.id, port.network_id, binding.mac_address))
        if binding.vif_type == VIF_TYPE_VF:
            desired = desired_vf_state(port, plan.core_ports[index], binding)
            vfs.append(VfDesired(device.address, port.id, desired))
    for index in range(len(plan.ports)):
        if index not in attached:  # a normal port: attached, for the virtual switch's agent
            attached[index] = {
                "binding_host_id": res.host,
                "binding_vif_type": VIF_TYPE_NORMAL,
                "device_position": index,
                "status": "DOWN",  # until that agent wires it (pcinet programs only VFs)
            }
    order = sorted(attached)
    generation = place(
        conn,
        PlacementWrite(
            host_id=res.host_id,
            seen_generation=seen,
            server=replace(server, status="BUILD" if vfs else "ACTIVE"),
            devices=[(d, r) for r, ids in enumerate(res.device_ids) for d in ids],
            vcpus=res.vcpus,
            memory_mb=res.memory_mb,
            cells=res.cells,
            ports=[PortAttach(plan.ports[i].id, attached[i]) for i in order],
            vfs=vfs,
            lends=lends,
        ),
    )
    views = [
        port_view(
            SimpleNamespace(
                **{
                    **plan.ports[i]._mapping,
                    **attached[i],
                    "device_id": server.id,
                    "updated_at": server.created_at,
                }
            )
        )
        for i in order
    ]
    return generation, views


def _lent_macs(plan: _Plan, res: Reservation) -> list[str]:
    """The ports to which the reservation lends a PF's MAC (to write in a transaction)."""
    return [
        plan.ports[int(pci.source)].id
        for r, pci in enumerate(plan.request.pci)
        if pci.kind is RequestKind.PORT
        and res.devices[r][0].dev_type is DevType.PF
        and usable_mac(res.devices[r][0]) is not None
    ]


def _mac_clash(
    ctl: Controller, plan: _Plan, res: Reservation, exc: LentMacTaken
) -> MacAddressInUse | None:
    """The 409 for a port that cannot take its PF's MAC, naming the port that has it, the
    network and the PF; None if no port has it any more (it was let go meanwhile). The
    claim was rolled back: what is read here is committed state."""
    for r, pci in enumerate(plan.request.pci):
        if pci.kind is not RequestKind.PORT:
            continue
        index = int(pci.source)
        port, device, network = plan.ports[index], res.devices[r][0], plan.networks[index]
        mac = usable_mac(device) if device.dev_type is DevType.PF else None
        if mac is None or exc.port_id not in (None, port.id):
            continue
        holder = exc.holder
        if holder is None:
            with ctl.core_unit(autocommit=True) as conn:
                holder = store_ports.mac_holder(conn, port.network_id, mac, other_than=port.id)
        if holder is None:
            continue
        with ctl.unit(readonly=True) as session:
            row = store_ports.get_port(session, holder)
            lent = row is not None and row.own_mac_address == mac
            name = f" ({row.name})" if row is not None and row.name else ""
        field = f"server.ports[{index}]"
        return MacAddressInUse(
            f"{field}: port {port.id} cannot take MAC {mac} of PF {device.address} on host "
            f"{res.host} (a direct-physical port takes its PF's MAC): port {holder}{name} of "
            f"network {network.name} ({port.network_id}) has it"
            + (" as its own MAC, lent away while it is bound" if lent else ""),
            field=field,
        )
    return None


def desired_vf_state(row: Any, port: Port, binding: PortBinding) -> dict[str, Any]:
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


def _created_view(
    plan: _Plan, res: Reservation, server: NewServer, ports: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """The view of a server just created, from what the transaction wrote (no re-read)."""
    vf_ports = any(p["binding:vif_type"] == VIF_TYPE_VF for p in ports)
    aliases = _alias_names(plan.flavor)
    return {
        "id": server.id,
        "name": server.name,
        "description": server.description,
        "project_id": server.project_id,
        "tenant_id": server.project_id,
        "host": res.host,
        "status": "BUILD" if vf_ports else "ACTIVE",
        "flavor": dict(plan.flavor),
        "numa_cells": [{"host_cell": c, "vcpus": v, "memory_mb": m} for c, v, m in res.cells],
        "created_at": time_text(server.created_at),
        "ports": list(ports),
        "pci_devices": [
            {
                "address": d.address,
                "dev_type": d.dev_type.value,
                "request": r,
                "alias": aliases[r] if r < len(aliases) else None,
            }
            for r, group in enumerate(res.devices)
            for d in sorted(group, key=lambda d: d.address)
        ],
    }


def _alias_names(flavor: Mapping[str, Any]) -> list[str]:
    """The alias of each alias request of a server, in request order: the alias requests
    come first, one per entry of the flavor's ``pci_passthrough:alias`` (checked at create)."""
    value = (flavor.get("extra_specs") or {}).get(ALIAS_EXTRA_SPEC)
    return [] if value is None else [name for name, _ in parse_alias_extra_spec(value)]


def _pci_devices(session: Session, servers: Sequence[Server]) -> dict[str, list[dict[str, Any]]]:
    """Server id -> its devices, ``{"address", "dev_type", "request", "alias"}`` in request
    order; ``request`` indexes the server's PCI requests, ``alias`` is the alias name of an
    alias request and None for a port's device."""
    out: dict[str, list[dict[str, Any]]] = {s.id: [] for s in servers}
    if not servers:
        return out
    aliases = {s.id: _alias_names(s.flavor) for s in servers}
    rows = session.execute(
        sa.select(Allocation.server_id, Allocation.request_index, Device.address, Device.dev_type)
        .join(Device, Device.id == Allocation.device_id)
        .where(Allocation.server_id.in_(list(out)))
        .order_by(Allocation.server_id, Allocation.request_index, Device.address)
    )
    for server_id, index, address, dev_type in rows:
        names = aliases[server_id]
        out[server_id].append(
            {
                "address": address,
                "dev_type": dev_type,
                "request": index,
                "alias": names[index] if index < len(names) else None,
            }
        )
    return out


def _view(session: Session, server_id: str, host: str | None) -> dict[str, Any]:
    row = store_servers.get_server(session, server_id)
    assert row is not None
    ports = store_ports.list_ports(session, device_id=server_id)
    return server_view(
        row,
        host=host,
        ports=ports,
        pci_devices=_pci_devices(session, [row])[row.id],
        reasons=vf_states.error_reasons(session, ports),
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
    if caller.host_bound:  # it owns no project's servers (``Caller.owns``)
        return []
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
                sa.select(PortRow)
                .where(PortRow.device_id.in_(ids))
                .order_by(PortRow.device_position, PortRow.created_at)
            ):
                by_server[port.device_id or ""].append(port)
        devices = _pci_devices(session, rows)
        reasons = vf_states.error_reasons(session, (p for ps in by_server.values() for p in ps))
        return [
            server_view(
                r,
                host=names.get(r.host_id or ""),
                ports=by_server[r.id],
                pci_devices=devices[r.id],
                reasons=reasons,
            )
            for r in rows
        ]


def delete(ctl: Controller, caller: Caller, server_id: str) -> None:
    """Release devices and compute (idempotent), unbind the ports, mark the VFs for
    restore, delete the row."""
    caller.require("admin", "member", action="deleting a server")
    with ctl.unit() as session:
        _owned(caller, store_servers.get_server(session, server_id), server_id)
        released = release(session, server_id)
        if released is not None:  # every VF the server held that its host programmed
            for address in released.addresses:
                state = vf_states.get_vf_state(session, released.host_id, address)
                if state is not None and state.action == vf_states.APPLY:
                    vf_states.mark_restore(session, host_id=released.host_id, pci_address=address)
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
    """BUILD while a device port is not ACTIVE, ERROR if one is ERROR, ACTIVE otherwise.
    A ``normal`` port is another agent's business and does not count; an administratively
    down port counts as done once DOWN (its VF is programmed with the link disabled)."""
    ports = [
        p
        for p in store_ports.list_ports(session, device_id=server_id)
        if p.binding_vif_type in (VIF_TYPE_VF, VIF_TYPE_PF)
    ]
    statuses = {
        "ACTIVE" if p.status == "DOWN" and not p.admin_state_up else p.status for p in ports
    }
    status = "ERROR" if "ERROR" in statuses else "ACTIVE" if statuses <= {"ACTIVE"} else "BUILD"
    store_servers.set_server_status(session, server_id, status)
