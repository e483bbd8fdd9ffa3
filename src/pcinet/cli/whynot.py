"""``pcinet why-not``: where a server would go now on the live state, and every host's
reason (``POST /v1/why-not``); nothing is claimed. The offline twin is ``pcinet plan``."""

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
    resolve,
    show,
    table,
)
from pcinet.client import DEFAULT_URL
from pcinet.core.errors import InvalidInput

WHY_NOT_COLUMNS = ("host", "verdict")


def print_why_not(data: Mapping[str, Any]) -> None:
    if data.get("host"):
        devices = " ".join(a for group in data.get("devices") or [] for a in group)
        where = f", devices {devices}" if devices else ""
        console.print(f"Would go to [bold]{data['host']}[/]{where}.")
    else:
        console.print("[bold]No host fits now.[/]")
    rows = [
        (h.get("host"), f"fits (score {h['score']:.3f})" if h.get("fits") else h.get("reason"))
        for h in data.get("hosts") or []
    ]
    console.print(table(None, WHY_NOT_COLUMNS, rows, compact=True))


def _new_port(text: str) -> dict[str, str]:
    network, sep, vnic_type = text.rpartition(":")
    if not sep:
        network, vnic_type = text, "direct"
    if not network.strip():
        raise InvalidInput(
            f"--network: {text!r} is not of the form NETWORK[:VNIC_TYPE]", field="--network"
        )
    return {"network": network, "vnic_type": vnic_type}


def why_not_command(
    *,
    ports: Annotated[
        list[str] | None,
        typer.Option(
            "--port", help="An existing port's id or name, repeated (as server create takes it)."
        ),
    ] = None,
    networks: Annotated[
        list[str] | None,
        typer.Option(
            "--network",
            help="A new port: NETWORK[:VNIC_TYPE] (id or name; direct, direct-physical or "
            "macvtap; default direct), repeated.",
        ),
    ] = None,
    vcpus: Annotated[int, typer.Option("--vcpus", help="Flavor vCPUs.")] = 1,
    memory_mb: Annotated[int, typer.Option("--memory-mb", help="Flavor memory (MB).")] = 512,
    extra_specs: Annotated[
        list[str] | None,
        typer.Option("--extra-spec", help="Flavor extra spec KEY=VALUE, repeated."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Where would a server with these existing --port ids or names (their network, vnic type and
    binding:profile, as its boot reads them) and new --network ports go now, and why not
    elsewhere? Runs the scheduler on a copy of the controller's state, nothing claimed.
    Prints {"host", "devices", "hosts": [{"host", "fits", "score", "reason"}]}."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        flavor = {
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "extra_specs": parse_key_values(extra_specs or [], "--extra-spec"),
        }
        new_ports = [_new_port(n) for n in networks or []]
        port_ids = [resolve(p, "port", client.list_ports) for p in ports or []]
        data = client.why_not(flavor, port_ids, new_ports)
    show(data, out=out, render=lambda: print_why_not(data))
