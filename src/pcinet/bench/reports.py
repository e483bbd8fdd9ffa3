"""Host inventory reports (``PUT /v1/hosts/{name}`` bodies) for the stress and crash
benchmarks and the concurrency tests: Intel X710 adapters, each a PF at ``0000:BUS:00.0``
with its VFs at ``0000:BUS:02.i``, all on NUMA cell 0, tagged by a device spec on the PF's
address (so its VFs, not the PF itself, are assignable)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pcinet.core.nics import X710


def adapter(bus: str, physnet: str, vfs: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The PF and ``vfs`` VFs on ``bus``, and the device spec putting them on ``physnet``."""
    pf = f"0000:{bus}:00.0"
    kind = {"vendor_id": X710.vendor_id, "numa_node": 0}
    devices = [
        {"address": pf, **kind, "product_id": X710.pf_product_id, "dev_type": "type-PF"},
        *(
            {
                "address": f"0000:{bus}:02.{i}",
                **kind,
                "product_id": X710.vf_product_id,
                "dev_type": "type-VF",
                "parent_address": pf,
            }
            for i in range(vfs)
        ),
    ]
    return devices, {"address": pf, "physical_network": physnet}


def host_report(
    adapters: Sequence[tuple[str, str]], *, vfs: int, vcpus: int, memory_mb: int
) -> dict[str, Any]:
    """A host of one NUMA cell with an ``adapter(bus, physnet, vfs)`` per (bus, physnet)."""
    devices: list[dict[str, Any]] = []
    specs: list[dict[str, Any]] = []
    for bus, physnet in adapters:
        found, spec = adapter(bus, physnet, vfs)
        devices += found
        specs.append(spec)
    return {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": [{"id": 0, "vcpus": vcpus, "memory_mb": memory_mb}],
        "device_spec": specs,
        "devices": devices,
    }
