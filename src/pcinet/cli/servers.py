"""``pcinet server create|list|show|delete``: boot servers with PCI ports on a controller.

``server create`` schedules the host and the exact devices in one call and prints, for each
port (by name), the PCI address of the VF or PF it got, the device's physnet and the VLAN it
is programmed with. When no host fits it prints every rejected host with its reason (on
stderr) and exits 1.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from pcinet.cli.formats import ColumnOption, FormatOption
from pcinet.cli.output import console, fail, new_app
from pcinet.cli.remote import (
    JsonOption,
    TokenOption,
    UrlOption,
    add_delete_command,
    connect,
    output_of,
    parse_key_values,
    physnet_of,
    print_rejections,
    resolve,
    show,
    show_rows,
    table,
    vlan_of,
)
from pcinet.client import DEFAULT_URL, ApiError, Client, Json
from pcinet.libvirt import MACVTAP_VNIC, domain_xml

server_app = new_app(help="Servers: create, list, show, delete.", no_args_is_help=True)

SERVER_COLUMNS = ("id", "name", "host", "status", "PCI addresses")


def server_row(server: Mapping[str, Any]) -> tuple[Any, ...]:
    """A server in a list: its host, status and the devices (VFs or PFs) of its ports."""
    ports = server.get("ports") or []
    return (
        server.get("id"),
        server.get("name"),
        server.get("host"),
        server.get("status"),
        ", ".join(str(p.get("pci_slot")) for p in ports if p.get("pci_slot")),
    )


def print_server(server: Mapping[str, Any]) -> None:
    """Host and status, then each port: name and id, the PCI address of its VF or PF,
    physnet, VLAN, MAC, status."""
    console.print(
        f"server [bold]{server.get('name')}[/] ({server.get('id')}) on host "
        f"[bold]{server.get('host')}[/], status {server.get('status')}"
    )
    ports = server.get("ports") or []
    if ports:
        rows = [
            (
                p.get("name"),
                p.get("id"),
                p.get("pci_slot"),
                physnet_of(p),
                vlan_of(p),
                p.get("mac_address"),
                p.get("status"),
            )
            for p in ports
        ]
        columns = ("port", "id", "PCI address", "physnet", "VLAN", "MAC", "status")
        console.print(table("ports", columns, rows))
    aliases = [d for d in server.get("pci_devices") or [] if d.get("alias")]
    if aliases:
        alias_rows = [(d.get("alias"), d.get("address")) for d in aliases]
        console.print(table("alias devices", ("alias", "address"), alias_rows))


@server_app.command("create")
def create(
    *,
    name: Annotated[str, typer.Argument(help="Server name.")],
    vcpus: Annotated[int, typer.Option("--vcpus", min=1, help="Flavor vCPUs.")],
    memory_mb: Annotated[int, typer.Option("--memory-mb", min=1, help="Flavor memory (MB).")],
    extra_specs: Annotated[
        list[str] | None,
        typer.Option("--extra-spec", help="Flavor extra spec key=value, repeated."),
    ] = None,
    ports: Annotated[
        list[str] | None, typer.Option("--port", help="Port id or name, repeated, in order.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Boot a server: pick the host and its devices, claim them and bind the ports."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        flavor: Json = {
            "vcpus": vcpus,
            "memory_mb": memory_mb,
            "extra_specs": parse_key_values(extra_specs or [], "--extra-spec"),
        }
        port_ids = [resolve(p, "port", client.list_ports) for p in ports or []]
        try:
            server = client.create_server(name, flavor, port_ids)
        except ApiError as exc:
            if not out.structured:
                print_rejections(exc)
            fail(exc, as_json=out.structured)
    show(server, out=out, render=lambda: print_server(server))


@server_app.command("list")
def list_(
    *,
    name: Annotated[str | None, typer.Option("--name")] = None,
    status: Annotated[str | None, typer.Option("--status", help="BUILD, ACTIVE, ERROR.")] = None,
    host: Annotated[str | None, typer.Option("--host", help="Admin.")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the servers the caller sees."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        servers = client.list_servers(name=name, status=status, host=host)
    show_rows(servers, SERVER_COLUMNS, server_row, out=out)


@server_app.command("show")
def show_(
    *,
    server: Annotated[str, typer.Argument(help="Server id or name.")],
    libvirt_xml: Annotated[
        bool,
        typer.Option(
            "--libvirt-xml",
            help="Print a minimal libvirt domain document: one element per PCI port "
            "(hostdev interface, direct macvtap interface or PCI hostdev).",
        ),
    ] = False,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a server: its host and, per port, its device (VF or PF), physnet and VLAN."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        data = client.get_server(resolve(server, "server", client.list_servers))
        if libvirt_xml:
            sys.stdout.write(domain_xml(data, _macvtap_netdevs(client, data)))
            return
    show(data, out=out, render=lambda: print_server(data))


def _macvtap_netdevs(client: Client, server: Mapping[str, Any]) -> dict[str, str]:
    """VF address to netdev on the server's host, read only when a port is ``macvtap``
    (the host view is the admin's)."""
    if not any(p.get("binding:vnic_type") == MACVTAP_VNIC for p in server.get("ports") or []):
        return {}
    host = client.get_host(str(server.get("host")))
    return {str(d["address"]): str(d["devname"]) for d in host["devices"] if d.get("devname")}


add_delete_command(
    server_app,
    "server",
    "Delete a server: its devices and compute are released, its ports unbound.",
    delete=Client.delete_server,
    lister=Client.list_servers,
)
