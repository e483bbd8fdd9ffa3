"""``pcinet port create|list|show|delete``: Neutron-style ports on a controller.

A port is named by id or by name (a name must be unique); ``--network`` takes a network's
id or name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from pcinet.cli.formats import ColumnOption, FormatOption
from pcinet.cli.output import new_app
from pcinet.cli.remote import (
    JsonOption,
    TokenOption,
    UrlOption,
    add_delete_command,
    add_show_command,
    connect,
    output_of,
    physnet_of,
    print_fields,
    resolve,
    show,
    show_rows,
    vlan_of,
)
from pcinet.client import DEFAULT_URL, Client, Json

port_app = new_app(help="Ports: create, list, show, delete.", no_args_is_help=True)

PORT_COLUMNS = (
    "id",
    "name",
    "network",
    "vnic",
    "status",
    "host",
    "PCI address",
    "physnet",
    "VLAN",
)


def port_row(port: Mapping[str, Any], network_names: Mapping[str, str]) -> tuple[Any, ...]:
    """Where a port is bound (host, PCI address of its VF or PF, physnet, VLAN); its
    network by name."""
    network_id = str(port.get("network_id"))
    return (
        port.get("id"),
        port.get("name"),
        network_names.get(network_id) or network_id,
        port.get("binding:vnic_type"),
        port.get("status"),
        port.get("binding:host_id"),
        port.get("pci_slot"),
        physnet_of(port) if port.get("binding:host_id") else None,
        vlan_of(port),
    )


@port_app.command("create")
def create(
    *,
    network: Annotated[str, typer.Option("--network", help="Network id or name.")],
    name: Annotated[str | None, typer.Option("--name", help="Port name.")] = None,
    vnic_type: Annotated[
        str | None,
        typer.Option("--vnic-type", help="normal (default), direct, direct-physical, macvtap, ..."),
    ] = None,
    mac_address: Annotated[
        str | None, typer.Option("--mac-address", help="Generated when left out.")
    ] = None,
    trusted: Annotated[
        bool, typer.Option("--trusted", help="Needs a trusted VF (binding:profile).")
    ] = False,
    no_port_security: Annotated[
        bool, typer.Option("--no-port-security", help="port_security_enabled false.")
    ] = False,
    min_tx_rate: Annotated[int | None, typer.Option("--min-tx-rate", help="Mbps.", min=0)] = None,
    max_tx_rate: Annotated[int | None, typer.Option("--max-tx-rate", help="Mbps.", min=0)] = None,
    numa_affinity_policy: Annotated[
        str | None,
        typer.Option("--numa-affinity-policy", help="required, legacy, preferred or socket."),
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a port on a network."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        body: Json = {"network_id": resolve(network, "network", client.list_networks)}
        optional = {
            "name": name,
            "binding:vnic_type": vnic_type,
            "mac_address": mac_address,
            "min_tx_rate": min_tx_rate,
            "max_tx_rate": max_tx_rate,
            "numa_affinity_policy": numa_affinity_policy,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        if trusted:
            body["binding:profile"] = {"trusted": True}
        if no_port_security:
            body["port_security_enabled"] = False
        port = client.create_port(body)
    show(port, out=out, render=lambda: print_fields("port", port))


@port_app.command("list")
def list_(
    *,
    network: Annotated[str | None, typer.Option("--network", help="Network id or name.")] = None,
    device_id: Annotated[str | None, typer.Option("--device-id", help="Server id.")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    status: Annotated[str | None, typer.Option("--status", help="DOWN, BUILD, ...")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the ports the caller sees, with where they are bound."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        network_id = None
        if network is not None:
            network_id = resolve(network, "network", client.list_networks)
        ports = client.list_ports(
            network_id=network_id, device_id=device_id, name=name, status=status
        )
        names: dict[str, str] = {}
        if not out.structured and ports:
            names = {str(n["id"]): str(n.get("name") or "") for n in client.list_networks()}
    show_rows(ports, PORT_COLUMNS, lambda p: port_row(p, names), out=out, compact=True)


add_show_command(
    port_app,
    "port",
    "Show one port, with its binding.",
    get=Client.get_port,
    lister=Client.list_ports,
)
add_delete_command(
    port_app,
    "port",
    "Delete a port (refused while a server uses it: exit 1, ``port_in_use``).",
    delete=Client.delete_port,
    lister=Client.list_ports,
)
