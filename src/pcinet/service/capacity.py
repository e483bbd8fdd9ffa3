"""What the scheduler would do, asked without claiming anything: ``GET /v1/capacity`` (how
many more servers of one shape fit, per host and in total) and the dashboard's "Why not?"
(where one server would go, and every host's reason), on the live snapshot.

The shape: a flavor (vCPUs, memory, extra specs) and ports, each a vnic type on a network.
Both run the real scheduler on a private copy of the controller's snapshot
(``scheduler.capacity``). A capacity answer walks the scheduler once per server that fits,
so it is bounded: ``max_servers`` (default ``DEFAULT_MAX_SERVERS``, at most
``MAX_SERVERS``); when more fit, the answer is the error ``capacity_limit_exceeded`` (400),
never a silent cap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from pcinet.core.alias import ALIAS_EXTRA_SPEC, parse_aliases
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.network import Network as CoreNetwork
from pcinet.core.port import Port, VnicType, server_requests
from pcinet.scheduler import PlacementRequest, decide
from pcinet.scheduler.capacity import MAX_SERVERS, count
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest, NotFound
from pcinet.store import networks as store_networks
from pcinet.store.aliases import list_aliases
from pcinet.store.models import Network

VNIC_TYPES = (VnicType.DIRECT, VnicType.DIRECT_PHYSICAL, VnicType.MACVTAP)
MAX_PORTS = 16
DEFAULT_MAX_SERVERS = 1000

PortShape = tuple[str, str]  # network id or name, vnic type


def capacity(
    ctl: Controller,
    caller: Caller,
    *,
    network: str,
    vnic_type: str = "direct",
    ports: int = 1,
    vcpus: int = 1,
    memory_mb: int = 512,
    extra_specs: Mapping[str, str] | None = None,
    max_servers: int = DEFAULT_MAX_SERVERS,
) -> dict[str, Any]:
    """``{"total": N, "hosts": [{"host", "fits", "limited_by"}]}`` for the shape."""
    if not 1 <= ports <= MAX_PORTS:
        raise InvalidRequest(f"ports: {ports} is not in 1..{MAX_PORTS}", field="ports")
    if not 1 <= max_servers <= MAX_SERVERS:
        raise InvalidRequest(
            f"max_servers: {max_servers} is not in 1..{MAX_SERVERS}", field="max_servers"
        )
    request = shape_request(
        ctl,
        caller,
        [(network, vnic_type)] * ports,
        vcpus=vcpus,
        memory_mb=memory_mb,
        extra_specs=extra_specs,
    )
    snapshot = ctl.cache.private_snapshot()
    answer = count(
        snapshot, request, config=ctl.cache.config, seed=ctl.peek_seed(), limit=max_servers
    )
    return answer.to_dict()


def why_not(
    ctl: Controller,
    caller: Caller,
    ports: Sequence[PortShape],
    *,
    vcpus: int = 1,
    memory_mb: int = 512,
    extra_specs: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Where a server of the shape would go now (the decision its boot would make, with
    the controller's next seed) and every host's verdict (an exhaustive decision):
    ``{"host": NAME | None, "devices": [[ADDRESS, ...], ...], "hosts": [{"host", "fits",
    "score", "reason"}]}``. Nothing is claimed."""
    if len(ports) > MAX_PORTS:
        raise InvalidRequest(f"ports: more than {MAX_PORTS}", field="ports")
    request = shape_request(
        ctl, caller, ports, vcpus=vcpus, memory_mb=memory_mb, extra_specs=extra_specs
    )
    snapshot = ctl.cache.private_snapshot()
    config = ctl.cache.config
    online = decide(snapshot, request, config=config, seed=ctl.peek_seed())
    every = decide(snapshot, request, config=config, seed=ctl.peek_seed(), exhaustive=True)
    scores = dict(every.feasible)
    names = sorted({*scores, *every.rejected})
    placement = online.placement
    return {
        "host": placement.host if placement else None,
        "devices": [list(group) for group in placement.devices] if placement else [],
        "hosts": [
            {
                "host": name,
                "fits": name in scores,
                "score": scores.get(name),
                "reason": every.rejected.get(name),
            }
            for name in names
        ],
    }


def shape_request(
    ctl: Controller,
    caller: Caller,
    ports: Sequence[PortShape],
    *,
    vcpus: int,
    memory_mb: int,
    extra_specs: Mapping[str, str] | None,
) -> PlacementRequest:
    """The scheduler's request for a flavor and ports (network, vnic type), as a boot of
    that server would build it."""
    caller.require("admin", "member", action="asking the scheduler")
    for _, vnic_type in ports:
        if vnic_type not in VNIC_TYPES:
            allowed = ", ".join(VNIC_TYPES)
            raise InvalidRequest(
                f"vnic_type: {vnic_type!r} is not one of {allowed}", field="vnic_type"
            )
    flavor = Flavor.from_dict(
        {"vcpus": vcpus, "memory_mb": memory_mb, "extra_specs": dict(extra_specs or {})}
    )
    with ctl.unit(readonly=True) as session:
        nets: dict[str, CoreNetwork] = {}
        for network, _ in ports:
            if network not in nets:
                row = _network(session, caller, network)
                segments = store_networks.segments_of(session, [row.id])[row.id]
                nets[network] = store_networks.core_network(row, segments)
        with_aliases = ALIAS_EXTRA_SPEC in flavor.extra_specs
        aliases = parse_aliases(list_aliases(session)) if with_aliases else {}
    reqs = flavor_requirements(flavor, aliases)
    ctl.cache.maybe_refresh()
    pairs = [(Port(network=nets[n].name, vnic_type=VnicType(v)), nets[n]) for n, v in ports]
    pci = server_requests(
        reqs.alias_requests,
        pairs,
        numa_policy=reqs.pci_numa_policy,
        servable_physnets=ctl.cache.servable_physnets(),
    )
    return PlacementRequest(
        vcpus=reqs.vcpus, memory_mb=reqs.memory_mb, pci=pci, guest_cells=reqs.guest_cells
    )


def _network(session: Session, caller: Caller, key: str) -> Network:
    """The network with id ``key``, else the one named ``key``, that the caller sees."""

    def visible(row: Network) -> bool:
        return bool(row.shared or caller.owns(row.project_id) or caller.role == "service")

    row = store_networks.get_network(session, key)
    if row is not None and visible(row):
        return row
    named = [r for r in store_networks.list_networks(session, name=key) if visible(r)]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise InvalidRequest(
            f"network: {len(named)} networks are named {key!r}; use an id", field="network"
        )
    raise NotFound(f"network {key} not found", field="network")
