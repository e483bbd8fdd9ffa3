"""The inventory report: the body of ``PUT /v1/hosts/{name}`` (docs/api.md), built from a
discovery, the host's resources and the agent's configuration.

- ``vcpus``/``memory_mb`` are what guests may use: the totals minus Nova's
  ``reserved_host_cpus``/``reserved_host_memory_mb``; ``numa_cells`` are reported whole.
- ``devices`` are the selected devices, tagged, each with what the agent needs later:
  ``devname`` (the netdev), ``vf_index``, ``pcie_root`` and ``mac_address`` (a
  ``direct-physical`` port gets its PF's MAC, as in Nova).
- Without any device spec source (no nova.conf, sriov_agent.ini or flag) no device is
  reported, as in Nova: only devices a spec selects are assignable.
- No ``device_spec`` is sent: the devices are already selected and tagged here (the
  controller would otherwise match again, and device specs cannot express
  ``exclude_devices``).
"""

from __future__ import annotations

from typing import Any

from pcinet.inventory.agentconf import AgentConfig, select_devices
from pcinet.inventory.resources import HostResources
from pcinet.inventory.sysfs import Discovery


def host_report(
    name: str, discovery: Discovery, resources: HostResources, config: AgentConfig
) -> dict[str, Any]:
    """The report body; ConfigConflict or InvalidInput (reservation larger than the host)
    when the configuration cannot be applied."""
    selected = select_devices(discovery, config) if config.selective else []
    vcpus, memory_mb = resources.usable(config.reserved)
    return {
        "name": name,
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": [
            {"id": c.id, "vcpus": c.vcpus, "memory_mb": c.memory_mb, "socket": c.socket}
            for c in resources.cells
        ],
        "devices": [s.device.to_pci_device().with_tags(s.tags).to_dict() for s in selected],
    }
