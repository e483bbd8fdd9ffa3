"""pcinet's and Nova's answers on small random hosts, against a brute force.

Hosts have 1-3 PFs (X710) with 1-3 VFs each, physnets and trust drawn at random, made
assignable by device specs naming the PF. For each (host, request) pair: the truth by
brute force (``bruteforce``), Nova's filter and claim (its own code, through the driver),
pcinet's decision (its devices re-checked: free, no PF with its VF, each matching its
request and reaching its network), and the simulator's ``nova`` model. A *false negative*
is a feasible pair refused; a *false positive* is a pair accepted whose claim then fails.
Nova's false negatives are attributed to its first-segment rule when no assignment exists
using only each network's first segment, else to its greedy order.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from pcinet.core.devspec import apply_device_specs, parse_device_specs
from pcinet.core.host import Host
from pcinet.core.nics import X710
from pcinet.core.pci import DevType, Inventory, PciDevice
from pcinet.core.request import PciRequest, RequestKind, tag_is_true
from pcinet.scheduler import Snapshot, decide
from pcinet.sim import bruteforce
from pcinet.sim.cloud import HOST_CELLS
from pcinet.sim.novabench import Shape, layout_payload, nova_request, run_driver
from pcinet.sim.novamodel import consume_requests, support_requests
from pcinet.sim.server_requests import RequestBuilder, build_request
from pcinet.sim.state import CloudState, physnet_of
from pcinet.sim.workload import NETWORKS, PortSpec, Server


def random_host(rng: random.Random, name: str) -> tuple[Host, dict[str, Any]]:
    raw: list[PciDevice] = []
    specs: list[dict[str, Any]] = []
    for k in range(rng.choice((1, 2, 2, 3))):
        pf = f"0000:{0x3B + k:02x}:00.0"
        raw.append(PciDevice(pf, X710.vendor_id, X710.pf_product_id, DevType.PF, numa_node=0))
        for v in range(rng.choice((1, 2, 3))):
            raw.append(
                PciDevice(
                    X710.vf_address(pf, v),
                    X710.vendor_id,
                    X710.vf_product_id,
                    DevType.VF,
                    parent_address=pf,
                    numa_node=0,
                )
            )
        spec: dict[str, Any] = {
            "address": pf,
            "physical_network": rng.choice(("phy1", "phy1", "phy2", "phy3")),
        }
        trust = rng.random()
        if trust < 0.35:
            spec["trusted"] = "true"
        elif trust < 0.5:
            spec["trusted"] = "false"
        specs.append(spec)
    devices = tuple(d for d, _ in apply_device_specs(parse_device_specs(specs), raw))
    host = Host(name, 96, 393216, HOST_CELLS, devices)
    return host, layout_payload(raw, specs)


def random_shape(rng: random.Random) -> Shape:
    ports: list[PortSpec] = []
    flavor = "vf" if rng.random() < 0.2 else "small"
    for _ in range(rng.choice((1, 2, 2, 3)) - (flavor == "vf")):
        network = rng.choice(list(NETWORKS))
        if rng.random() < 0.15:
            ports.append(PortSpec(network, "direct-physical"))
        else:
            ports.append(PortSpec(network, "direct", trusted=rng.random() < 0.3))
    return flavor, tuple(ports)


def _pcinet_answer(host: Host, server: Server, builder: RequestBuilder) -> bool:
    """pcinet's verdict, re-checked: a placement whose devices are not all free, break the
    PF/VF rule, or do not match their requests counts as wrong (raises)."""
    req = builder.get(server).pcinet
    placement = decide(Snapshot([host]), req, exhaustive=True).placement
    if placement is None:
        return False
    devices = {d.address: d for d in host.devices}
    Inventory(host.devices).check_claim([a for d in placement.devices for a in d])
    for pci, chosen in zip(req.pci, placement.devices, strict=True):
        if len(chosen) != pci.count:
            raise AssertionError(f"request {pci.source} got {len(chosen)} devices")
        for a in chosen:
            d = devices[a]
            if not pci.matches(d.dev_type, d.vendor_id, d.product_id, d.tags):
                raise AssertionError(f"{a} does not match request {pci.source}")
            if pci.kind is RequestKind.PORT:
                network = NETWORKS[server.ports[int(pci.source)].network]
                if physnet_of(d) not in network.physnets:
                    raise AssertionError(f"{a} cannot reach network {network.name}")
    return True


def answers(
    nova_python: Path, *, hosts: int = 400, per_host: int = 3, seed: int = 1
) -> dict[str, Any]:
    rng = random.Random(seed)
    builder = RequestBuilder()
    small = [random_host(rng, f"h{i}") for i in range(hosts)]
    shapes: list[Shape] = []
    pairs: list[tuple[int, int]] = []
    for i in range(hosts):
        for _ in range(per_host):
            pairs.append((i, len(shapes)))
            shapes.append(random_shape(rng))
    payload = {
        "mode": "answers",
        "layouts": {str(i): p for i, (_, p) in enumerate(small)},
        "requests": [nova_request(s) for s in shapes],
        "pairs": [[str(h), r] for h, r in pairs],
    }
    t0 = time.perf_counter()
    nova = run_driver(nova_python, payload, timeout_s=600)
    nova_s = time.perf_counter() - t0
    counts = dict.fromkeys(
        (
            "pairs",
            "feasible",
            "nova_false_negatives",
            "nova_fn_first_segment",
            "nova_fn_greedy",
            "nova_fn_multi_segment",
            "nova_false_positives",
            "nova_claim_ok_but_infeasible",
            "pcinet_false_negatives",
            "pcinet_false_positives",
            "model_filter_agrees",
            "model_claim_agrees",
        ),
        0,
    )
    examples: list[dict[str, Any]] = []
    for (h, r), got in zip(pairs, nova["result"], strict=True):
        host = small[h][0]
        flavor, ports = shapes[r]
        server = Server(0, 0.0, None, flavor, ports)
        req = builder.get(server)
        truth = bruteforce.feasible(host, req.pcinet.pci)
        first_only = bruteforce.feasible(host, _nova_pci(server))
        ours = _pcinet_answer(host, server, builder)
        runtime = CloudState([host]).hosts[0]
        model_filter = support_requests(runtime, req.nova, ())
        model_claim = consume_requests(runtime, req.nova, ()) is not None
        counts["pairs"] += 1
        counts["feasible"] += truth
        counts["pcinet_false_negatives"] += truth and not ours
        counts["pcinet_false_positives"] += ours and not truth
        counts["model_filter_agrees"] += model_filter == got["filter"]
        counts["model_claim_agrees"] += model_claim == got["claim"]
        counts["nova_claim_ok_but_infeasible"] += got["claim"] and not truth
        kind = None
        if truth and not got["filter"]:
            counts["nova_false_negatives"] += 1
            kind = "first segment" if not first_only else "greedy order"
            counts["nova_fn_first_segment" if not first_only else "nova_fn_greedy"] += 1
            counts["nova_fn_multi_segment"] += any(
                len(NETWORKS[p.network].segments) > 1 for p in ports
            )
        if got["filter"] and not got["claim"]:
            counts["nova_false_positives"] += 1
            kind = (
                "claim fails, no valid assignment"
                if not truth
                else "claim fails (greedy), an assignment exists"
            )
        if kind and len([e for e in examples if e["kind"] == kind]) < 2:
            examples.append(_example(kind, host, server))
    feasible = counts["feasible"] or 1
    return {
        "nova_version": nova["nova_version"],
        **counts,
        "nova_fn_share_of_feasible": round(counts["nova_false_negatives"] / feasible, 4),
        "nova_s": round(nova_s, 2),
        "examples": examples,
    }


def _nova_pci(server: Server) -> tuple[PciRequest, ...]:
    """pcinet's matchers for Nova's request: each port on its network's first segment."""
    return build_request(server.flavor, server.ports, nova=True).pci


def _example(kind: str, host: Host, server: Server) -> dict[str, Any]:
    pfs = [
        f"{d.address} {d.tags.get('physical_network')}"
        + (" trusted" if tag_is_true(d.tags.get("trusted")) else "")
        + f" ({sum(1 for v in host.devices if v.parent_address == d.address)} VFs)"
        for d in host.devices
        if d.dev_type is DevType.PF
    ]
    ports = [
        f"{p.vnic_type} on {p.network}" + (" trusted" if p.trusted else "") for p in server.ports
    ]
    if server.flavor == "vf":
        ports.insert(0, "alias vf:1")
    return {"kind": kind, "host": "; ".join(pfs), "request": ", ".join(ports)}
