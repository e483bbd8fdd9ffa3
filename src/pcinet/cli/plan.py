"""``pcinet plan`` and ``pcinet devspec match``: offline, on files, no controller needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from pcinet.cli.output import EXIT_NOT_FOUND, console, err_console, fail, new_app, print_json
from pcinet.cloudfile import in_file, load_cloud, load_request
from pcinet.core.devspec import apply_device_specs, parse_device_specs
from pcinet.core.errors import InvalidInput, PcinetError
from pcinet.core.limits import load_json
from pcinet.core.pci import PciDevice
from pcinet.fileschema import SCHEMAS, json_schema
from pcinet.planner import PlanResult, plan
from pcinet.scheduler import SchedulerConfig
from pcinet.yamlfile import read_yaml

devspec_app = new_app(help="Check Nova-style device specs against devices.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]


# One line per paragraph: Typer keeps the docstring's single line breaks in later paragraphs.
PLAN_HELP = "\n\n".join(
    (
        "Where would this server go, and why not elsewhere? Every host gets a verdict: the "
        'reason it was rejected, or "fits (score S)".',
        "The score ranks the hosts that fit; the highest wins. It is a sum of weighers, each "
        "normalised to 0..1 over the hosts that fit, times its multiplier: compute x1 (vCPUs "
        "and memory left after placing: most for --strategy spread, least for pack), PCI x1 "
        "(a server without PCI requests prefers hosts with fewer usable devices), NUMA x2 "
        "(the share of its devices local to the guest's NUMA cells), whole PF x0.5 (fewer "
        "PFs broken into VFs by this placement), plus a seeded jitter under 0.000001 that "
        "breaks ties (--seed).",
        "Exit 0 when placed, 1 when no host fits, 2 on invalid input.",
    )
)


def plan_command(
    cloud: Annotated[Path | None, typer.Argument(help="Cloud file (YAML or JSON).")] = None,
    request: Annotated[Path | None, typer.Argument(help="Request file: flavor and ports.")] = None,
    *,
    as_json: JsonFlag = False,
    strategy: Annotated[str, typer.Option(help="spread or pack.")] = "spread",
    seed: Annotated[int, typer.Option(help="Seed for tie-breaking.")] = 0,
    schema: Annotated[
        str | None,
        typer.Option(
            "--schema", help="Print the JSON Schema of a file format (cloud or request), and exit."
        ),
    ] = None,
) -> None:
    if schema is not None:
        if schema not in SCHEMAS:
            fail(InvalidInput(f"--schema: {schema!r} is not one of cloud, request"), as_json=True)
        print_json(json_schema(schema))
        return
    try:
        if cloud is None or request is None:
            raise InvalidInput("give a CLOUD file and a REQUEST file (or --schema)")
        if strategy not in ("spread", "pack"):
            raise InvalidInput(f"--strategy: {strategy!r} is not one of spread, pack")
        loaded = load_cloud(cloud)
        server = load_request(request, loaded.networks)
        try:
            result = plan(loaded, server, config=SchedulerConfig(strategy=strategy), seed=seed)  # type: ignore[arg-type]
        except PcinetError as exc:  # the request asks for something the cloud cannot parse
            raise in_file(str(request), exc) from None
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    warnings = [f"{cloud}: {w}" for w in loaded.warnings]
    warnings += [f"{request}: {w}" for w in server.warnings]
    for line in warnings:
        err_console.print(f"[bold yellow]warning[/]: {line}", highlight=False)
    if not result.placed:
        error = result.error()
        if as_json:
            print_json({"error": error.to_dict(), "warnings": warnings})
        else:
            _print_rejections(result)
            console.print(f"[bold red]no valid host[/]: {error.message}")
        raise typer.Exit(EXIT_NOT_FOUND)
    if as_json:
        print_json({**result.output, "warnings": warnings})
    else:
        _print_plan(result)


plan_command.__doc__ = PLAN_HELP


def _print_plan(result: PlanResult) -> None:
    out = result.output
    console.print(
        f"[bold green]placed on[/] [bold]{out['host']}[/]"
        + (f"  (guest NUMA cells on host cells {out['numa_cells']})" if out["numa_cells"] else "")
    )
    if out["ports"]:
        table = Table(title="ports")
        for col in ("port", "network", "device", "type", "physnet", "VLAN", "vif_type"):
            table.add_column(col)
        for p in out["ports"]:
            table.add_row(
                str(p["index"]),
                p["network"],
                p["address"],
                p["dev_type"],
                str(p["physical_network"]),
                p["binding:vif_details"]["vlan"],
                p["binding:vif_type"],
            )
        console.print(table)
    if out["aliases"]:
        table = Table(title="aliases")
        table.add_column("alias")
        table.add_column("devices")
        for a in out["aliases"]:
            table.add_row(a["alias"], ", ".join(a["addresses"]))
        console.print(table)
    _print_rejections(result)


def _print_rejections(result: PlanResult) -> None:
    rejected = result.decision.rejected
    feasible = result.decision.feasible
    if not rejected and len(feasible) <= 1:
        return
    table = Table(title="hosts")
    table.add_column("host")
    table.add_column("verdict")
    for name, score in feasible:
        table.add_row(name, f"[green]fits[/] (score {score:.3f})")
    for name, reason in rejected.items():
        table.add_row(name, f"[red]{reason}[/]")
    console.print(table)


@devspec_app.command("match")
def devspec_match(
    specs: Annotated[list[str], typer.Argument(help="Device spec JSON objects, in order.")],
    devices: Annotated[Path, typer.Option("--devices", help="YAML/JSON list of devices.")],
    as_json: JsonFlag = False,
) -> None:
    """Which devices the specs select, in order; the first matching spec wins."""
    try:
        parsed_specs = []
        for i, text in enumerate(specs):
            parsed_specs.append(load_json(text, f"device_spec[{i}]"))
        spec_list = parse_device_specs(parsed_specs)
        raw = read_yaml(devices)
        if not isinstance(raw, list):
            raise InvalidInput(f"{devices}: expected a list of devices")
        devs = [PciDevice.from_dict(d, where=f"{devices}: devices[{i}]") for i, d in enumerate(raw)]
    except PcinetError as exc:
        fail(exc, as_json=as_json)
    matches: list[dict[str, Any]] = [
        {"address": dev.address, "spec": index, "tags": dict(dev.tags)}
        for dev, index in apply_device_specs(spec_list, devs)
    ]
    if as_json:
        print_json({"matches": matches})
        return
    table = Table(title=f"{len(matches)} of {len(devs)} devices assignable")
    for col in ("address", "spec", "tags"):
        table.add_column(col)
    for m in matches:
        table.add_row(m["address"], str(m["spec"]), json.dumps(m["tags"]))
    console.print(table)
