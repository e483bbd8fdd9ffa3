"""``GET /v1/capacity``: how many more servers of one shape fit on today's state, per host
and in total, computed without changing anything (``scheduler.capacity``).

The shape: a flavor (vCPUs, memory, extra specs) and ``ports`` ports of one vnic type on
one network. Each answer walks the scheduler once per server that fits, so it is bounded:
``max_servers`` (default ``DEFAULT_MAX_SERVERS``, at most ``MAX_SERVERS``); when more fit,
the answer is the error ``capacity_limit_exceeded`` (400), never a silent cap.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pcinet.core.alias import ALIAS_EXTRA_SPEC, parse_aliases
from pcinet.core.flavor import Flavor, flavor_requirements
from pcinet.core.port import Port, VnicType, server_requests
from pcinet.scheduler import PlacementRequest
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
    caller.require("admin", "member", action="asking for capacity")
    if vnic_type not in VNIC_TYPES:
        allowed = ", ".join(VNIC_TYPES)
        raise InvalidRequest(f"vnic_type: {vnic_type!r} is not one of {allowed}", field="vnic_type")
    if not 1 <= ports <= MAX_PORTS:
        raise InvalidRequest(f"ports: {ports} is not in 1..{MAX_PORTS}", field="ports")
    if not 1 <= max_servers <= MAX_SERVERS:
        raise InvalidRequest(
            f"max_servers: {max_servers} is not in 1..{MAX_SERVERS}", field="max_servers"
        )
    flavor = Flavor.from_dict(
        {"vcpus": vcpus, "memory_mb": memory_mb, "extra_specs": dict(extra_specs or {})}
    )
    with ctl.unit(readonly=True) as session:
        row = _network(session, caller, network)
        net = store_networks.core_network(
            row, store_networks.segments_of(session, [row.id])[row.id]
        )
        with_aliases = ALIAS_EXTRA_SPEC in flavor.extra_specs
        aliases = parse_aliases(list_aliases(session)) if with_aliases else {}
    reqs = flavor_requirements(flavor, aliases)
    port = Port(network=net.name, vnic_type=VnicType(vnic_type))
    ctl.cache.maybe_refresh()
    pci = server_requests(
        reqs.alias_requests,
        [(port, net)] * ports,
        numa_policy=reqs.pci_numa_policy,
        servable_physnets=ctl.cache.servable_physnets(),
    )
    request = PlacementRequest(
        vcpus=reqs.vcpus, memory_mb=reqs.memory_mb, pci=pci, guest_cells=reqs.guest_cells
    )
    snapshot = ctl.cache.private_snapshot()
    answer = count(
        snapshot, request, config=ctl.cache.config, seed=ctl.peek_seed(), limit=max_servers
    )
    return answer.to_dict()


def _network(session: Any, caller: Caller, key: str) -> Network:
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
