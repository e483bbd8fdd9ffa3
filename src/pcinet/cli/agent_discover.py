"""``pcinet agent discover``: the PCI devices of this host as sysfs shows them, and which
of them the operator's nova.conf / sriov_agent.ini / device specs select, with tags."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pcinet.cli.agent import agent_app
from pcinet.cli.output import console, err_console, fail, print_json
from pcinet.core.errors import PcinetError
from pcinet.inventory.agentconf import load_agent_config, select_devices
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
    Path | None, typer.Option("--nova-conf", help="nova.conf: [pci] device_spec and alias.")
]
SriovConfOption = Annotated[
    Path | None,
    typer.Option(
        "--sriov-agent-conf",
        help="Neutron's sriov_agent.ini: physical_device_mappings and exclude_devices.",
    ),
]


def _problem(p: Problem) -> dict[str, str]:
    return {"path": p.path, "message": p.message}


@agent_app.command("discover")
def discover_command(
    sysfs_root: SysfsRootOption = Path(DEFAULT_ROOT),
    device_spec: DeviceSpecOption = None,
    nova_conf: NovaConfOption = None,
    sriov_agent_conf: SriovConfOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """List the host's PCI devices (PFs, VFs with their PF and index, others). With specs or
    config files, only the devices they select, with their tags.

    Unreadable sysfs entries are reported and skipped (exit 0); invalid or disagreeing
    config files exit 2, naming the file, the option and the device.
    """
    try:
        config = load_agent_config(
            nova_conf=nova_conf, sriov_agent_conf=sriov_agent_conf, device_specs=device_spec or ()
        )
        found = discover(sysfs_root)
        selected = select_devices(found, config)
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    devices: list[dict[str, Any]] = [{**s.device.to_dict(), "tags": dict(s.tags)} for s in selected]
    if as_json:
        print_json({"devices": devices, "problems": [_problem(p) for p in found.problems]})
        return
    title = f"{len(devices)} of {len(found.devices)} devices" if config.selective else None
    table = Table(title=title or f"{len(devices)} devices")
    for col in ("address", "type", "PF", "VF", "vendor:product", "NUMA", "netdev", "driver"):
        table.add_column(col)
    for col in ("MAC", "PCIe root", "tags"):
        table.add_column(col)
    for d in devices:
        table.add_row(
            d["address"],
            d["dev_type"],
            d["parent_address"] or "",
            "" if d["vf_index"] is None else str(d["vf_index"]),
            f"{d['vendor_id']}:{d['product_id']}",
            "" if d["numa_node"] is None else str(d["numa_node"]),
            d["netdev"] or "",
            d["driver"] or "",
            d["mac"] or "",
            d["pcie_root"] or "",
            json.dumps(d["tags"]) if d["tags"] else "",
        )
    console.print(table)
    for p in found.problems:
        err_console.print(f"[yellow]skipped[/] {p.path}: {p.message}")
