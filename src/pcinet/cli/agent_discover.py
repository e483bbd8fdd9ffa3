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
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the host's PCI devices (PFs, VFs with their PF and index, others). With specs or
    config files, only the devices they select, with their tags.

    Unreadable sysfs entries are reported (on stderr, or as "problems" in JSON) and skipped,
    exit 0; invalid or disagreeing config files exit 2, naming the file, the option and the
    device.
    """
    out = output_of(fmt, columns, as_json)
    try:
        config = load_agent_config(
            nova_conf=nova_conf, sriov_agent_conf=sriov_agent_conf, device_specs=device_spec or ()
        )
        found = discover(sysfs_root)
        selected = select_devices(found, config)
    except PcinetError as exc:
        fail(exc, as_json=out.structured)
    devices: list[dict[str, Any]] = [{**s.device.to_dict(), "tags": dict(s.tags)} for s in selected]
    if out.structured and not out.columns:
        dump({"devices": devices, "problems": [_problem(p) for p in found.problems]}, out.format)
        return
    show_rows(devices, COLUMNS, _row, out=out, compact=True)
    for p in found.problems:
        err_console.print(f"[yellow]skipped[/] {escape(p.path)}: {escape(p.message)}")
