"""pcinet against Nova's own code (``pcinet bench nova``; ``make bench-nova``).

Both sides get the same generated hosts and requests. Nova runs in its own virtualenv
through ``nova_driver.py`` (JSON in, JSON out); nothing here imports Nova.

- **Answers** on small random hosts (1-3 PFs, 1-3 VFs each, physnets and trust drawn at
  random, made assignable by device specs naming the PF): for each (host, request) pair,
  the truth by brute force (``bruteforce``), Nova's filter and claim, pcinet's decision
  (its devices re-checked: free, no PF with its VF, each matching its request). A *false
  negative* is a feasible pair refused; a *false positive* is a pair accepted whose claim
  fails. Nova's false negatives are attributed to its first-segment rule when no
  assignment exists using only each network's first segment, else to its greedy order.
  The simulator's ``nova`` model is checked against the same answers.
- **Time** per decision on a generated cloud (``cloud``): Nova's PCI filter is every
  host's ``support_requests``; pcinet's decision is ``decide`` with all its checks.
"""

from __future__ import annotations

import gc
import json
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pcinet.core.devspec import apply_device_specs, parse_device_specs
from pcinet.core.errors import InvalidInput
from pcinet.core.host import Host
from pcinet.core.nics import X710
from pcinet.core.pci import DevType, Inventory, PciDevice, address_to_int
from pcinet.core.request import RequestKind
from pcinet.scheduler import Snapshot, decide
from pcinet.sim import bruteforce
from pcinet.sim.cloud import HOST_CELLS, Layout, device_spec, generate_cloud, raw_devices
from pcinet.sim.metrics import percentile
from pcinet.sim.novamodel import consume_requests, support_requests
from pcinet.sim.server_requests import RequestBuilder
from pcinet.sim.state import CloudState, physnet_of
from pcinet.sim.workload import (
    ALIASES,
    FLAVORS,
    NETWORKS,
    PortSpec,
    Server,
    capacity,
    generate_workload,
)

DRIVER = Path(__file__).with_name("nova_driver.py")
CELLS = [
    {"id": c.id, "socket": c.socket, "vcpus": c.vcpus, "memory_mb": c.memory_mb} for c in HOST_CELLS
]
Shape = tuple[str, tuple[PortSpec, ...]]


def device_dict(dev: PciDevice) -> dict[str, Any]:
    out: dict[str, Any] = {
        "address": dev.address,
        "vendor_id": dev.vendor_id,
        "product_id": dev.product_id,
        "dev_type": dev.dev_type.value,
        "numa_node": dev.numa_node,
    }
    if dev.parent_address:
        out["parent_address"] = dev.parent_address
    return out


def layout_payload(devices: Sequence[PciDevice], specs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {
        "device_spec": list(specs),
        "devices": [device_dict(d) for d in devices],
        "cells": CELLS,
    }


def nova_request(shape: Shape) -> dict[str, Any]:
    """The InstancePCIRequests Nova builds for a server: flavor aliases, then one per port
    whose spec names the physnet of its network's first segment that has one."""
    flavor_name, ports = shape
    flavor = FLAVORS[flavor_name]
    policy = flavor.extra_specs.get("hw:pci_numa_affinity_policy")
    pci: list[dict[str, Any]] = []
    alias_spec = flavor.extra_specs.get("pci_passthrough:alias")
    if alias_spec:
        for entry in alias_spec.split(","):
            name, count = (x.strip() for x in entry.split(":"))
            alias = ALIASES[name]
            specs = [
                {
                    k: v
                    for k, v in (
                        ("vendor_id", s.vendor_id),
                        ("product_id", s.product_id),
                        ("dev_type", s.device_type.value if s.device_type else None),
                    )
                    if v is not None
                }
                for s in alias.specs
            ]
            pci.append(
                {
                    "count": int(count),
                    "spec": specs,
                    "alias_name": name,
                    "numa_policy": policy or alias.numa_policy.value,
                }
            )
    for port in ports:
        segments = NETWORKS[port.network].segments
        physnet = next((s.physical_network for s in segments if s.physical_network), None)
        spec: dict[str, Any] = {"physical_network": physnet, "remote_managed": "False"}
        if port.vnic_type == "direct-physical":
            spec["dev_type"] = DevType.PF.value
        if port.trusted:
            spec["trusted"] = "True"
        pci.append({"count": 1, "spec": [spec], "numa_policy": policy})
    numa = "hw:numa_nodes" in flavor.extra_specs
    return {"pci": pci, "cells": [[c.id] for c in HOST_CELLS] if numa else None}


def run_driver(nova_python: Path, payload: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    if not nova_python.exists():
        raise InvalidInput(
            f"--nova-python: {nova_python} does not exist (make bench-nova creates .venv-nova)",
            field="nova-python",
        )
    with tempfile.TemporaryDirectory(prefix="pcinet-nova-") as tmp:
        inp, out = Path(tmp) / "in.json", Path(tmp) / "out.json"
        inp.write_text(json.dumps(payload))
        proc = subprocess.run(
            [str(nova_python), "-P", str(DRIVER), str(inp), str(out)],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"Nova's driver failed ({proc.returncode}): {proc.stderr[-2000:]}")
        result: dict[str, Any] = json.loads(out.read_text())
        return result


# -- answers ------------------------------------------------------------------------------


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
        assert len(chosen) == pci.count
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


def _nova_pci(server: Server) -> tuple[Any, ...]:
    """pcinet's matchers for Nova's request: each port on its network's first segment."""
    from pcinet.sim.server_requests import _build

    return _build(server.flavor, server.ports, nova=True).pci


def _example(kind: str, host: Host, server: Server) -> dict[str, Any]:
    pfs = [
        f"{d.address} {d.tags.get('physical_network')}"
        + (" trusted" if str(d.tags.get("trusted")).lower() == "true" else "")
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


# -- time ---------------------------------------------------------------------------------


def timing(
    nova_python: Path,
    hosts: int,
    *,
    nova_decisions: int,
    pcinet_decisions: int = 2000,
    seed: int = 1,
) -> dict[str, Any]:
    cloud = generate_cloud(hosts, seed)
    vfs = sum(cloud.physnet_vfs().values())
    workload = generate_workload(
        max(nova_decisions, pcinet_decisions), seed + 1, capacity=capacity(vfs, cloud.vcpus())
    )
    servers = workload.servers
    keys: dict[Layout, str] = {}
    for layout in cloud.layouts:
        keys.setdefault(layout, str(len(keys)))
    payload = {
        "mode": "time",
        "layouts": {
            k: layout_payload(raw_devices(lay), device_spec(lay)) for lay, k in keys.items()
        },
        "hosts": [[h.name, keys[lay]] for h, lay in zip(cloud.hosts, cloud.layouts, strict=True)],
        "requests": [nova_request((s.flavor, s.ports)) for s in servers[:nova_decisions]],
    }
    nova = run_driver(nova_python, payload, timeout_s=3600)["result"]
    builder = RequestBuilder()
    snapshot = Snapshot(cloud.hosts)
    gc.collect()
    gc.freeze()  # as the driver does for Nova: neither side pays for the other's garbage
    times: list[float] = []
    cpu: list[float] = []
    placed = 0
    for i in range(pcinet_decisions):
        req = builder.get(servers[i]).pcinet
        t0 = time.perf_counter()
        c0 = time.process_time()
        decision = decide(snapshot, req, seed=seed * 1_000_003 + i)
        cpu.append(time.process_time() - c0)
        times.append(time.perf_counter() - t0)
        p = decision.placement
        if p is not None:
            placed += 1
            snapshot.claim(
                p.host,
                [address_to_int(a) for d in p.devices for a in d],
                vcpus=req.vcpus,
                memory_mb=req.memory_mb,
                cells=[
                    (c, g.vcpus, g.memory_mb) for c, g in zip(p.cells, req.guest_cells, strict=True)
                ],
            )
    gc.unfreeze()
    nova_times = sorted(nova["times_s"])
    nova_cpu = sorted(nova["cpu_times_s"])
    times.sort()
    cpu.sort()
    nova_p50 = percentile(nova_times, 0.5) * 1000
    ours_p99 = percentile(times, 0.99) * 1000
    nova_cpu_p50 = percentile(nova_cpu, 0.5) * 1000
    ours_cpu_p99 = percentile(cpu, 0.99) * 1000
    return {
        "hosts": hosts,
        "vfs": vfs,
        "nova_decisions": len(nova_times),
        "nova_placed": nova["placed"],
        "nova_ms_p50": round(nova_p50, 2),
        "nova_ms_p99": round(percentile(nova_times, 0.99) * 1000, 2),
        "pcinet_decisions": pcinet_decisions,
        "pcinet_placed": placed,
        "pcinet_ms_p50": round(percentile(times, 0.5) * 1000, 3),
        "pcinet_ms_p99": round(ours_p99, 3),
        "nova_p50_over_pcinet_p99": round(nova_p50 / ours_p99, 1) if ours_p99 else None,
        "nova_cpu_ms_p50": round(nova_cpu_p50, 2),
        "pcinet_cpu_ms_p50": round(percentile(cpu, 0.5) * 1000, 3),
        "pcinet_cpu_ms_p99": round(ours_cpu_p99, 3),
        "cpu_nova_p50_over_pcinet_p99": round(nova_cpu_p50 / ours_cpu_p99, 1)
        if ours_cpu_p99
        else None,
    }


def machine() -> dict[str, Any]:
    """Where the numbers come from: CPUs, and how busy the machine was (load average)."""
    return {"cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2)}


def run_nova_bench(
    nova_python: Path,
    hosts: Sequence[int],
    *,
    nova_decisions: int,
    pcinet_decisions: int,
    answer_hosts: int,
    seed: int,
    progress: Any = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"machine_before": machine(), "timing": []}
    for n in hosts:
        if progress is not None:
            progress(f"time at {n} hosts")
        out["timing"].append(
            timing(
                nova_python,
                n,
                nova_decisions=nova_decisions,
                pcinet_decisions=pcinet_decisions,
                seed=seed,
            )
        )
    if progress is not None:
        progress("answers on small random hosts")
    out["answers"] = answers(nova_python, hosts=answer_hosts, seed=seed)
    out["nova_version"] = out["answers"]["nova_version"]
    out["machine_after"] = machine()
    return out
