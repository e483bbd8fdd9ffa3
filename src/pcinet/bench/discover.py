"""The discovery benchmark: ``pcinet bench discover`` reads a generated sysfs tree of
``--pfs`` PFs with ``--vfs-per-pf`` VFs each (Intel E810 by default: 2 PFs per adapter),
selects its devices with one sriov_agent.ini mapping per PF and builds the inventory report,
``--repeat`` times, and prints the times."""

from __future__ import annotations

import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pcinet.core.errors import InvalidInput
from pcinet.core.nics import MODELS
from pcinet.inventory.agentconf import load_agent_config
from pcinet.inventory.report import host_report
from pcinet.inventory.resources import read_host_resources
from pcinet.inventory.sysfs import discover
from pcinet.inventory.treegen import HostLayout, NicLayout, write_sysfs_tree


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "min_ms": _ms(ordered[0]),
        "median_ms": _ms(statistics.median(ordered)),
        "p95_ms": _ms(p95),
        "max_ms": _ms(ordered[-1]),
    }


def layout_for(model_name: str, pfs: int, vfs_per_pf: int) -> HostLayout:
    """``pfs`` PFs of ``model_name`` adapters (the last adapter may use fewer ports)."""
    if model_name not in MODELS:
        raise InvalidInput(f"--model: {model_name!r} is not one of {', '.join(MODELS)}")
    model = MODELS[model_name]
    if vfs_per_pf > model.max_vfs:
        raise InvalidInput(f"--vfs-per-pf: {model.name} has at most {model.max_vfs} VFs per PF")
    nics: list[NicLayout] = []
    left, bus = pfs, 0x18
    while left > 0:
        ports = min(left, model.ports)
        nics.append(
            NicLayout(model, f"0000:{bus:02x}:00.0", vfs_per_pf, len(nics) % 2, ports=ports)
        )
        left, bus = left - ports, bus + 0x10
        if bus > 0xF0:
            raise InvalidInput(f"--pfs: {pfs} PFs do not fit on the generated buses")
    return HostLayout(nics=tuple(nics))


def run_discover_bench(
    pfs: int = 4, vfs_per_pf: int = 128, *, model: str = "e810", repeat: int = 20
) -> dict[str, Any]:
    layout = layout_for(model, pfs, vfs_per_pf)
    with tempfile.TemporaryDirectory(prefix="pcinet-bench-sysfs-") as tmp:
        started = time.perf_counter()
        root = write_sysfs_tree(Path(tmp) / "sys", layout)
        write_s = time.perf_counter() - started
        found = discover(root)  # warm the dentry cache: the agent re-discovers every pass
        pf_names = [d.netdev for d in found.devices if d.dev_type.value == "type-PF"]
        sriov = Path(tmp) / "sriov_agent.ini"
        mappings = ",".join(f"physnet{i % 2}:{name}" for i, name in enumerate(pf_names))
        sriov.write_text(f"[sriov_nic]\nphysical_device_mappings = {mappings}\n")
        config = load_agent_config(sriov_agent_conf=sriov)
        resources = read_host_resources(root)
        discover_s, report_s = [], []
        report: dict[str, Any] = {}
        for _ in range(repeat):
            started = time.perf_counter()
            found = discover(root)
            middle = time.perf_counter()
            report = host_report("bench", found, resources, config)
            ended = time.perf_counter()
            discover_s.append(middle - started)
            report_s.append(ended - middle)
    vfs = sum(1 for d in found.devices if d.dev_type.value == "type-VF")
    return {
        "model": MODELS[model].name,
        "pfs": len(pf_names),
        "vfs": vfs,
        "devices": len(found.devices),
        "problems": len(found.problems),
        "reported_devices": len(report["devices"]),
        "repeat": repeat,
        "write_tree_s": round(write_s, 2),
        "discover": _stats(discover_s),
        "select_and_report": _stats(report_s),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }
