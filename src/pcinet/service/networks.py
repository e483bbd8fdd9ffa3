"""Networks: provider (flat, vlan, overlay, multi-segment) and tenant networks, with VLANs
allocated from ``network_vlan_ranges`` (Neutron's ML2 vlan type driver, as users know it).

- A vlan or flat segment's physnet must be one of the ranges' physnets (Neutron's
  "physical network unknown" is 400 ``invalid_network``); a provider VLAN may be any of
  1-4094, inside the range or not; a vlan segment without an id takes the first free VLAN
  of its physnet's range.
- An overlay segment (vxlan, geneve, gre) without an id takes the first free id of its type
  (1-16777215 for a VNI, 1-4294967295 for a GRE key), as Neutron allocates one.
- A network without ``provider:*`` or ``segments`` is a tenant network: one vlan segment
  on the first free VLAN of the ranges; none left is 503 ``no_network_available``.
- ``provider:*``, ``segments``, ``shared`` and ``project_id`` are admin only (403).
Two requests taking the same free VLAN at once: the database refuses the second insert,
which picks the next free VLAN (a bounded number of times).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.core.errors import InvalidNetwork
from pcinet.core.network import PROVIDER_KEYS, Network, NetworkType, Segment
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import (
    Forbidden,
    InvalidRequest,
    NetworkInUse,
    NoNetworkAvailable,
    NotFound,
)
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.networks import NetworkCreate
from pcinet.service.quotas import limits_for
from pcinet.service.views import network_view
from pcinet.store import networks as store_networks
from pcinet.store import ports as store_ports
from pcinet.store.errors import ConcurrentUpdate, SegmentInUse
from pcinet.store.models import Network as NetworkRow
from pcinet.store.quotas import enforce

ADMIN_KEYS = ("segments", "shared", "project_id", "tenant_id", *PROVIDER_KEYS)
ALLOCATION_ATTEMPTS = 8
# Overlay ids allocated when a segment has none (Neutron's vni_ranges / tunnel_id_ranges):
# the first free id of the type's whole range.
OVERLAY_ID_RANGES: dict[NetworkType, tuple[int, int]] = {
    NetworkType.VXLAN: (1, 2**24 - 1),
    NetworkType.GENEVE: (1, 2**24 - 1),
    NetworkType.GRE: (1, 2**32 - 1),
}


def project_of(project_id: str | None, tenant_id: str | None, where: str) -> str | None:
    """``project_id``, or Neutron's older name for it; both given must agree."""
    if project_id is not None and tenant_id is not None and project_id != tenant_id:
        field = f"{where}.tenant_id"
        raise InvalidRequest(
            f"{field}: differs from project_id (give one, or the same value)", field=field
        )
    return project_id if project_id is not None else tenant_id


def _check_physnets(ctl: Controller, network: Network) -> None:
    known = set(ctl.vlan_ranges.physnets)
    seen: set[str] = set()
    for i, segment in enumerate(network.segments):
        physnet = segment.physical_network
        if physnet is not None and physnet in seen:
            field = f"network.segments[{i}].provider:physical_network"
            raise InvalidNetwork(
                f"{field}: another segment of this network is on physnet {physnet} already",
                field=field,
            )
        if physnet is not None:
            seen.add(physnet)
        if physnet is not None and physnet not in known:
            where = "network" if len(network.segments) == 1 else f"network.segments[{i}]"
            field = f"{where}.provider:physical_network"
            names = ", ".join(sorted(known)) or "none configured"
            raise InvalidNetwork(
                f"{field}: physical network {physnet!r} is unknown "
                f"(network_vlan_ranges has: {names})",
                field=field,
            )


def _allocate(
    ctl: Controller, session: Any, segments: tuple[Segment, ...], tenant: bool
) -> tuple[Segment, ...]:
    """Fill every vlan segment without an id with a free VLAN of its physnet's range."""
    if tenant:
        found = store_networks.free_vlan(session, ctl.vlan_ranges)
        if found is None:
            raise NoNetworkAvailable(
                "no tenant network is available: every VLAN of network_vlan_ranges "
                f"({ctl.settings.effective_vlan_ranges or 'empty'}) is in use"
            )
        return (Segment(NetworkType.VLAN, found[0], found[1]),)
    out = []
    for segment in segments:
        if segment.network_type is NetworkType.VLAN and segment.segmentation_id is None:
            physnet = segment.physical_network
            assert physnet is not None
            found = store_networks.free_vlan(session, ctl.vlan_ranges.only(physnet))
            if found is None:
                raise NoNetworkAvailable(
                    f"no VLAN is free on physical network {physnet} in network_vlan_ranges"
                )
            out.append(Segment(NetworkType.VLAN, physnet, found[1]))
        elif segment.is_overlay and segment.segmentation_id is None:
            low, high = OVERLAY_ID_RANGES[segment.network_type]
            free = store_networks.free_overlay_id(session, segment.network_type, low, high)
            if free is None:
                raise NoNetworkAvailable(f"no {segment.network_type} id is free in {low}-{high}")
            out.append(Segment(segment.network_type, None, free))
        else:
            out.append(segment)
    return tuple(out)


def create(ctl: Controller, caller: Caller, body: NetworkCreate | Any) -> dict[str, Any]:
    caller.require("admin", "member", action="creating a network")
    request = parse(NetworkCreate, body)
    data = request.data()
    if not caller.is_admin:
        for key in ADMIN_KEYS:
            if key in data and not (key == "shared" and data[key] is False):
                raise Forbidden(f"network.{key}: setting it is admin only", field=f"network.{key}")
    name = request.name
    project = project_of(request.project_id, request.tenant_id, "network") or caller.project_id
    tenant = "segments" not in data and not any(k in data for k in PROVIDER_KEYS)
    if tenant:
        segments: tuple[Segment, ...] = ()
    else:
        parsed = Network.from_dict(
            {k: data[k] for k in ("name", "segments", *PROVIDER_KEYS) if k in data},
            allow_unset_vlan=True,
        )
        _check_physnets(ctl, parsed)
        segments = parsed.segments
    explicit = not tenant and all(
        s.segmentation_id is not None or s.network_type is NetworkType.FLAT for s in segments
    )
    limits = limits_for(ctl, project)
    for attempt in range(ALLOCATION_ATTEMPTS):
        try:
            with ctl.unit() as session:
                filled = _allocate(ctl, session, segments, tenant)
                row = store_networks.add_network(
                    session,
                    name=name,
                    project_id=project,
                    segments=filled,
                    shared=request.shared,
                    admin_state_up=request.admin_state_up,
                    description=request.description,
                )
                enforce(session, project, limits, ("networks",))
                rows = store_networks.segments_of(session, [row.id])[row.id]
                return network_view(row, rows, caller)
        except SegmentInUse as exc:
            if explicit:
                raise SegmentInUse(exc.message, field=_clash_field(data, segments)) from None
            if attempt == ALLOCATION_ATTEMPTS - 1:
                # The caller asked for no VLAN: losing every race for one is contention,
                # not a VLAN in use (found by ``pcinet bench stress``, 4 replicas).
                raise ConcurrentUpdate(
                    f"the VLAN allocation lost its race {ALLOCATION_ATTEMPTS} times to other "
                    "networks created at once; try again"
                ) from None
    raise AssertionError("unreachable")


def _clash_field(data: dict[str, Any], segments: tuple[Segment, ...]) -> str:
    """The property a taken segment came from, as the caller sent it."""
    if "segments" in data or not segments:
        return "network.segments"
    if segments[0].network_type is NetworkType.FLAT:
        return "network.provider:physical_network"
    return "network.provider:segmentation_id"


def _sees(caller: Caller, row: NetworkRow) -> bool:
    """Members see their project's and the shared networks; admins and unbound service
    tokens every network (a host-bound service token: ``_bound_to_host``)."""
    return row.shared or caller.owns(row.project_id) or caller.role == "service"


def _bound_to_host(session: Session, caller: Caller, rows: list[NetworkRow]) -> list[NetworkRow]:
    """For a host-bound service token, only the networks with a port bound to its host,
    shared or not; ``rows`` unchanged for every other caller."""
    if caller.host is None or not caller.host_bound or not rows:
        return rows
    bound = store_ports.networks_bound_to(session, caller.host, [r.id for r in rows])
    return [r for r in rows if r.id in bound]


def _visible(
    caller: Caller, row: NetworkRow | None, network_id: str, session: Session | None = None
) -> NetworkRow:
    """The network if the caller may see it, else 404 as for a missing id. A host-bound
    service token sees none without ``session`` (needed to look at the ports' bindings)."""
    if row is not None and caller.host_bound:
        visible = session is not None and bool(_bound_to_host(session, caller, [row]))
    else:
        visible = row is not None and _sees(caller, row)
    if row is None or not visible:
        raise NotFound(f"network {network_id} not found")
    return row


def get(ctl: Controller, caller: Caller, network_id: str) -> dict[str, Any]:
    with ctl.unit(readonly=True) as session:
        row = _visible(caller, store_networks.get_network(session, network_id), network_id, session)
        segments = store_networks.segments_of(session, [row.id])[row.id]
        return network_view(row, segments, caller)


def list_networks(
    ctl: Controller,
    caller: Caller,
    *,
    name: str | None = None,
    shared: bool | None = None,
    project_id: str | None = None,
) -> list[dict[str, Any]]:
    everything = caller.is_admin or caller.role == "service"
    with ctl.unit(readonly=True) as session:
        rows = store_networks.list_networks(
            session, visible_to=None if everything else caller.project_id, name=name
        )
        rows = [
            r
            for r in rows
            if (shared is None or r.shared == shared)
            and (project_id is None or r.project_id == project_id)
        ]
        rows = _bound_to_host(session, caller, rows)
        segments = store_networks.segments_of(session, [r.id for r in rows])
        return [network_view(r, segments[r.id], caller) for r in rows]


def delete(ctl: Controller, caller: Caller, network_id: str) -> None:
    caller.require("admin", "member", action="deleting a network")
    with ctl.unit() as session:
        row = _visible(caller, store_networks.get_network(session, network_id), network_id)
        if not caller.owns(row.project_id):
            raise Forbidden(f"network {network_id} belongs to another project")
        ports = store_ports.list_ports(session, network_id=network_id)
        if ports:
            raise NetworkInUse(
                f"network {network_id} has {len(ports)} port(s): delete them first",
                field="network_id",
            )
        try:
            store_networks.delete_network(session, network_id)
        except sa.exc.IntegrityError:  # a port was created on it meanwhile
            raise NetworkInUse(
                f"network {network_id} has ports: delete them first", field="network_id"
            ) from None
    ctl.ports.forget_network(network_id)
