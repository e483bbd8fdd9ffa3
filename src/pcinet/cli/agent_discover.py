"""``pcinet agent discover``: the PCI devices of this host as sysfs shows them, and which
of them the operator's nova.conf / sriov_agent.ini / device specs select, with tags."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from pcinet.cli.agent import agent_app
from pcinet.cli.formats import ColumnOption, FormatOption, dump
from pcinet.cli.output import err_console, fail
from pcinet.cli.remote import JsonOption, output_of, show_rows
from pcinet.core.errors import PcinetError
from pcinet.inventory.agentconf import load_agent_config, select_devices
from pcinet.inventory.resources import read_host_resources
from pcinet.inventory.sysfs import DEFAULT_ROOT, Problem, discover

SysfsRootOption = Annotated[
    Path, typer.Option("--sysfs-root", help="Where sysfs is mounted (a generated tree in tests).")
]
DeviceSpecOption = Annotated[
    list[str] | None,
    typer.Option(
        "--device-spec",
        help="A Nova device spec (JSON object or list); repeat for several. Replaces nova.conf's "
        "[pci] device_spec.",
    ),
]
NovaConfOption = Annotated[
    Path | None,
    typer.Option(
        "--nova-conf", help="nova.conf: [pci] device_spec and alias, reserved_host_* amounts."
    ),
]
SriovConfOption = Annotated[
    Path | None,
    typer.Option(
        "--sriov-agent-conf",
        help="Neutron's sriov_agent.ini: physical_device_mappings and exclude_devices.",
    ),
]
ReservedCpusOption = Annotated[
    int | None,
    typer.Option(
        "--reserved-host-cpus", min=0, help="vCPUs kept for the host; else nova.conf's, else 0."
    ),
]
ReservedMemoryOption = Annotated[
    int | None,
    typer.Option(
        "--reserved-host-memory-mb",
        min=0,
        help="Memory (MB) kept for the host; else nova.conf's, else 512.",
    ),
]


def _problem(p: Problem) -> dict[str, str]:
    return {"path": p.path, "message": p.message}


COLUMNS = (
    "PCI address",
    "type",
    "PF",
    "VF",
    "vendor:product",
    "NUMA",
    "netdev",
    "driver",
    "MAC",
    "PCIe root",
    "tags",
)


def _row(d: dict[str, Any]) -> tuple[Any, ...]:
    return (
        d["address"],
        d["dev_type"],
        d["parent_address"],
        d["vf_index"],
        f"{d['vendor_id']}:{d['product_id']}",
        d["numa_node"],
        d["netdev"],
        d["driver"],
        d["mac"],
        d["pcie_root"],
        d["tags"],
    )


@agent_app.command("discover")
def discover_command(
    *,
    sysfs_root: SysfsRootOption = Path(DEFAULT_ROOT),
    device_spec: DeviceSpecOption = None,
    nova_conf: NovaConfOption = None,
    sriov_agent_conf: SriovConfOption = None,
    reserved_host_cpus: ReservedCpusOption = None,
    reserved_host_memory_mb: ReservedMemoryOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the host's PCI devices (PFs, VFs with their PF and index, others). With specs or
    config files, only the devices they select, with their tags.

    Unreadable sysfs entries are reported (on stderr, or as "problems" in JSON) and skipped,
    exit 0; invalid or disagreeing config files exit 2, naming the file, the option and the
    device. JSON also gives "host": the vCPUs, memory and NUMA cells found, what is
    reserved for the host, and what the agent reports as usable.
    """
    out = output_of(fmt, columns, as_json)
    try:
        config = load_agent_config(
            nova_conf=nova_conf,
            sriov_agent_conf=sriov_agent_conf,
            device_specs=device_spec or (),
            reserved_host_cpus=reserved_host_cpus,
            reserved_host_memory_mb=reserved_host_memory_mb,
        )
        found = discover(sysfs_root)
        selected = select_devices(found, config)
        resources = read_host_resources(sysfs_root)
        usable = resources.usable(config.reserved)
    except PcinetError as exc:
        fail(exc, as_json=out.structured)
    devices: list[dict[str, Any]] = [{**s.device.to_dict(), "tags": dict(s.tags)} for s in selected]
    problems = (*found.problems, *resources.problems)
    if out.structured and not out.columns:
        host = {
            "vcpus": resources.vcpus,
            "memory_mb": resources.memory_mb,
            "numa_cells": [
                {"id": c.id, "vcpus": c.vcpus, "memory_mb": c.memory_mb, "socket": c.socket}
                for c in resources.cells
            ],
            "reserved_host_cpus": config.reserved.vcpus,
            "reserved_host_memory_mb": config.reserved.memory_mb,
            "usable_vcpus": usable[0],
            "usable_memory_mb": usable[1],
        }
        dump(
            {"devices": devices, "problems": [_problem(p) for p in problems], "host": host},
            out.format,
        )
        return
    show_rows(devices, COLUMNS, _row, out=out, compact=True)
    for p in problems:
        err_console.print(f"[yellow]skipped[/] {escape(p.path)}: {escape(p.message)}")
