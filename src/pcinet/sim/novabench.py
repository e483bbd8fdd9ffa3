"""pcinet against Nova's own code (``pcinet bench nova``; ``make bench-nova``).

Both sides get the same generated hosts and requests. Nova runs in its own virtualenv
through ``nova_driver.py`` (JSON in, JSON out); nothing here imports Nova.

- **Answers**: see ``novaanswers``.
- **Time** per decision on a generated cloud (``cloud``): Nova's PCI filter is every
  host's ``support_requests``; pcinet's decision is ``decide`` with all its checks.
"""

from __future__ import annotations

import gc
import json
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pcinet.core.errors import InvalidInput
from pcinet.core.pci import DevType, PciDevice, address_to_int
from pcinet.scheduler import Snapshot, decide
from pcinet.sim.cloud import HOST_CELLS, Layout, device_spec, generate_cloud, raw_devices
from pcinet.sim.metrics import percentile
from pcinet.sim.server_requests import RequestBuilder
from pcinet.sim.workload import (
    ALIASES,
    FLAVORS,
    NETWORKS,
    PortSpec,
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
