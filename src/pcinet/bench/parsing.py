"""The input parsers' benchmark: a big CLOUD document as ``pcinet plan`` loads it, and one
host's inventory report as ``PUT /v1/hosts/{name}`` parses it (typed body, file schema,
core parsers), on the generated cloud of ``pcinet.bench.cloudgen``.

Documents are built in memory: YAML reading is left out, since it does not depend on the
parsers and would hide them.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from pcinet.bench.cloudgen import PF_ADDRESSES, PHYSNETS, host_devices
from pcinet.bench.scheduler import percentile
from pcinet.cloudfile import parse_cloud, parse_host
from pcinet.core.pci import PciDevice
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.hosts import HostReport


def host_document(i: int, vfs_per_pf: int) -> dict[str, Any]:
    """Host ``i`` as a cloud file lists it (and an agent reports it): its own device spec."""
    a, b = PHYSNETS[i % 4], PHYSNETS[(i + 1) % 4]
    second: dict[str, Any] = {"address": PF_ADDRESSES[1], "physical_network": b}
    if (i // 4) % 2:
        second["trusted"] = "true"
    return {
        "name": f"cn{i:05d}",
        "vcpus": 64,
        "memory_mb": 262144,
        "numa_cells": [
            {"id": 0, "vcpus": 32, "memory_mb": 131072, "socket": 0},
            {"id": 1, "vcpus": 32, "memory_mb": 131072, "socket": 1},
        ],
        "device_spec": [{"address": PF_ADDRESSES[0], "physical_network": a}, second],
        "devices": [d.to_dict() for d in host_devices(vfs_per_pf)],
    }


def cloud_document(hosts: int, vfs_per_pf: int) -> dict[str, Any]:
    networks = [
        {
            "name": p,
            "provider:network_type": "vlan",
            "provider:physical_network": p,
            "provider:segmentation_id": 100 + k,
        }
        for k, p in enumerate(PHYSNETS)
    ]
    aliases = [{"name": "nic", "vendor_id": "8086", "product_id": "1889"}]
    return {
        "alias": aliases,
        "networks": networks,
        "hosts": [host_document(i, vfs_per_pf) for i in range(hosts)],
    }


def _timed(repeat: int, run: Any) -> list[float]:
    # CPU time of this thread: the parsers do no I/O, and on a shared machine the wall
    # clock mostly measures the neighbours.
    times = []
    for _ in range(repeat):
        t0 = time.thread_time()
        run()
        times.append(time.thread_time() - t0)
    return sorted(times)


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def run_parse_bench(hosts: int, *, vfs_per_pf: int = 64, repeat: int = 5) -> dict[str, Any]:
    """Median (and best) CPU time to parse the cloud, one host report, and one device."""
    cloud = cloud_document(hosts, vfs_per_pf)
    report = host_document(0, vfs_per_pf)
    devices = report["devices"]
    gc.collect()
    cloud_times = _timed(repeat, lambda: parse_cloud(cloud))
    report_times = _timed(repeat * 20, lambda: parse_host(report, "host", None))
    api_times = _timed(
        repeat * 20, lambda: parse_host(parse(HostReport, report).data(), "host", None)
    )
    device_times = _timed(
        repeat * 20, lambda: [PciDevice.from_dict(d, where="device") for d in devices]
    )
    return {
        "hosts": hosts,
        "devices_per_host": len(devices),
        "devices": hosts * len(devices),
        "repeat": repeat,
        "cloud_parse_cpu_ms_median": _ms(percentile(cloud_times, 0.5)),
        "cloud_parse_cpu_ms_best": _ms(cloud_times[0]),
        "cloud_parse_cpu_us_per_device": round(
            percentile(cloud_times, 0.5) / (hosts * len(devices)) * 1e6, 2
        ),
        "host_report_cpu_ms_median": _ms(percentile(report_times, 0.5)),
        "host_report_cpu_ms_p99": _ms(percentile(report_times, 0.99)),
        "api_host_report_cpu_ms_median": _ms(percentile(api_times, 0.5)),
        "device_from_dict_cpu_us_median": round(
            percentile(device_times, 0.5) / len(devices) * 1e6, 2
        ),
    }
