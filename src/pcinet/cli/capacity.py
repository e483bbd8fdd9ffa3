"""``pcinet capacity``: how many more servers of one shape fit, per host and in total."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from pcinet.cli.formats import ColumnOption, FormatOption
from pcinet.cli.output import console
from pcinet.cli.remote import (
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    output_of,
    parse_key_values,
    show,
    table,
)
from pcinet.client import DEFAULT_URL

CAPACITY_COLUMNS = ("host", "fits", "limited by")


def print_capacity(data: Mapping[str, Any]) -> None:
    hosts = data.get("hosts") or []
    rows = [(h.get("host"), h.get("fits"), h.get("limited_by")) for h in hosts]
    console.print(table(None, CAPACITY_COLUMNS, rows, compact=True))
    fitting = sum(1 for h in hosts if h.get("fits"))
    console.print(f"[bold]{data.get('total')}[/] more servers fit, on {fitting} hosts")


def capacity_command(
    *,
    network: Annotated[str, typer.Option("--network", help="Network id or name.")],
    vnic_type: Annotated[
        str, typer.Option("--vnic-type", help="direct, direct-physical or macvtap.")
    ] = "direct",
    ports: Annotated[int, typer.Option("--ports", help="Ports per server.")] = 1,
    vcpus: Annotated[int, typer.Option("--vcpus", help="Flavor vCPUs.")] = 1,
    memory_mb: Annotated[int, typer.Option("--memory-mb", help="Flavor memory (MB).")] = 512,
    extra_specs: Annotated[
        list[str] | None,
        typer.Option("--extra-spec", help="Flavor extra spec KEY=VALUE, repeated."),
    ] = None,
    max_servers: Annotated[
        int,
        typer.Option("--max-servers", help="Count at most this many (1..2000); more is an error."),
    ] = 1000,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """How many more servers of this flavor, each with --ports ports of --vnic-type on
    --network, fit on today's state: the scheduler run again and again on a copy of its
    snapshot, nothing claimed. Prints {"total", "hosts": [{"host", "fits", "limited_by"}]}."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        params: dict[str, Any] = {
            "network": network,
            "vnic_type": vnic_type,
            "ports": ports,
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "max_servers": max_servers,
        }
        specs = parse_key_values(extra_specs or [], "--extra-spec")
        params["extra_spec"] = [f"{k}={v}" for k, v in specs.items()]
        data = client.get_capacity(**params)
    show(data, out=out, render=lambda: print_capacity(data))
