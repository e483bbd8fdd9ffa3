"""The offline planner behind ``pcinet plan``: where would this server go, and why not
elsewhere? Unlike the online scheduler it gives every host of the cloud a verdict."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pcinet.cloudfile import Cloud, ServerRequest
from pcinet.core.binding import bind_port
from pcinet.core.errors import InvalidFlavor, NoValidHost
from pcinet.core.flavor import flavor_requirements
from pcinet.core.port import server_requests
from pcinet.core.request import PciRequest, RequestKind
from pcinet.scheduler import Decision, PlacementRequest, SchedulerConfig, Snapshot, decide


@dataclass(frozen=True, slots=True)
class PlanResult:
    decision: Decision
    requests: tuple[PciRequest, ...]
    output: Mapping[str, Any]

    @property
    def placed(self) -> bool:
        return self.decision.placement is not None

    def error(self) -> NoValidHost:
        """Every rejected host, with all its reasons: the planner's job is to explain."""
        return self.decision.no_valid_host(limit=None)


def build_request(cloud: Cloud, server: ServerRequest) -> PlacementRequest:
    """Flavor and ports to the scheduler's request (raises on a network no device serves).

    Errors name the request's field: an extra spec as ``flavor.extra_specs.<key>``.
    """
    try:
        reqs = flavor_requirements(server.flavor, cloud.aliases)
    except InvalidFlavor as exc:
        field = f"flavor.extra_specs.{exc.field}" if exc.field else "flavor.extra_specs"
        raise InvalidFlavor(f"flavor.extra_specs.{exc.message}", field=field) from None
    pairs = [(p, cloud.networks[p.network]) for p in server.ports]
    pci = server_requests(
        reqs.alias_requests,
        pairs,
        numa_policy=reqs.pci_numa_policy,
        servable_physnets=cloud.servable_physnets(),
    )
    return PlacementRequest(
        vcpus=reqs.vcpus, memory_mb=reqs.memory_mb, pci=pci, guest_cells=reqs.guest_cells
    )


def plan(
    cloud: Cloud,
    server: ServerRequest,
    *,
    config: SchedulerConfig | None = None,
    seed: int = 0,
) -> PlanResult:
    request = build_request(cloud, server)
    decision = decide(Snapshot(cloud.hosts), request, config=config, seed=seed, exhaustive=True)
    rejected = dict(decision.rejected)
    if decision.placement is None:
        return PlanResult(decision, request.pci, {"rejected": rejected})

    placement = decision.placement
    host = next(h for h in cloud.hosts if h.name == placement.host)
    by_address = {d.address: d for d in host.devices}
    ports_out: list[dict[str, Any]] = []
    aliases_out: list[dict[str, Any]] = []
    for pci, addresses in zip(request.pci, placement.devices, strict=True):
        if pci.kind is RequestKind.ALIAS:
            aliases_out.append({"alias": pci.source, "addresses": list(addresses)})
            continue
        index = int(pci.source)
        port = server.ports[index]
        network = cloud.networks[port.network]
        device = by_address[addresses[0]]
        binding = bind_port(port, network, device)
        ports_out.append(
            {
                "index": index,
                "network": network.name,
                "address": device.address,
                "dev_type": device.dev_type.value,
                "numa_node": device.numa_node,
                "physical_network": binding.segment.physical_network,
                "segmentation_id": binding.segment.segmentation_id,
                "network_type": binding.segment.network_type.value,
                "binding:vif_type": binding.vif_type,
                "binding:vif_details": dict(binding.vif_details),
                "binding:profile": dict(binding.profile),
            }
        )
    output: dict[str, Any] = {
        "host": placement.host,
        "ports": ports_out,
        "aliases": aliases_out,
        "numa_cells": list(placement.cells),
        "rejected": rejected,
        "feasible": [{"host": h, "score": s} for h, s in decision.feasible],
    }
    return PlanResult(decision, request.pci, output)
