"""``pcinet host list|show|disable|enable`` (admin): compute hosts and their devices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from pcinet.cli.formats import ColumnOption, FormatOption
from pcinet.cli.output import console, new_app
from pcinet.cli.remote import (
    Answer,
    JsonOption,
    TokenOption,
    UrlOption,
    add_show_command,
    add_target_command,
    connect,
    output_of,
    show_rows,
    table,
)
from pcinet.client import DEFAULT_URL, Client

host_app = new_app(help="Compute hosts (admin): list, show, disable, enable.", no_args_is_help=True)

DEVICE_COLUMNS = (
    "address",
    "type",
    "PF",
    "vendor:product",
    "NUMA",
    "devname",
    "physnet",
    "status",
    "server",
)


OUTSIDE = "in use outside pcinet"  # a device the host reports allocated, no server holds
HOST_ARGUMENT = ("name", "Host name.")
HOST_COLUMNS = ("host", "state", "alive", "vCPUs used", "memory used (MB)", "devices free")


def _used(host: Mapping[str, Any], used: str, total: str) -> str:
    return f"{host.get(used, '?')}/{host.get(total, '?')}"


def host_row(host: Mapping[str, Any]) -> tuple[Any, ...]:
    """A host in a list: its state and what of its capacity is used."""
    return (
        host.get("name"),
        "disabled" if host.get("disabled") else "enabled",
        host.get("alive"),
        _used(host, "vcpus_used", "vcpus"),
        _used(host, "memory_used_mb", "memory_mb"),
        f"{host.get('devices_free')}/{host.get('device_count')}",
    )


def print_host(host: Mapping[str, Any]) -> None:
    """The host's summary, then every device with its physnet, status and server."""
    state = "disabled" if host.get("disabled") else "enabled"
    alive = "alive" if host.get("alive") else "no heartbeat"
    console.print(
        f"host [bold]{host.get('name')}[/]: {state}, {alive} (last {host.get('heartbeat_at')}); "
        f"vCPUs {_used(host, 'vcpus_used', 'vcpus')}, "
        f"memory {_used(host, 'memory_used_mb', 'memory_mb')} MB used; "
        f"devices {host.get('devices_free')} free of {host.get('device_count')}"
    )
    rows = []
    for d in host.get("devices") or []:
        tags = d.get("tags") or {}
        rows.append(
            (
                d.get("address"),
                str(d.get("dev_type", "")).removeprefix("type-"),
                d.get("parent_address"),
                f"{d.get('vendor_id')}:{d.get('product_id')}",
                d.get("numa_node"),
                d.get("devname"),
                tags.get("physical_network") if isinstance(tags, Mapping) else None,
                d.get("status"),
                d.get("server_id")
                or (OUTSIDE if d.get("reported_status") == "allocated" else None),
            )
        )
    console.print(table("devices", DEVICE_COLUMNS, rows))
    unselected = host.get("unselected_allocated") or []
    if unselected:
        words = ", ".join(
            f"{d.get('address')} ({str(d.get('dev_type', '')).removeprefix('type-')})"
            for d in unselected
        )
        console.print(f"{OUTSIDE}, selected by no device spec (blocking their PF or VFs): {words}")


@host_app.command("list")
def list_(
    *,
    disabled: Annotated[
        bool | None, typer.Option("--disabled/--enabled", help="Only disabled (enabled) hosts.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the hosts with their free capacity."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        hosts = client.list_hosts(disabled=disabled)
    show_rows(hosts, HOST_COLUMNS, host_row, out=out)


add_show_command(
    host_app,
    "host",
    "Show a host: every device with its physnet, status and the server holding it.",
    get=Client.get_host,
    render=print_host,
    argument=HOST_ARGUMENT,
)


def _add_state_command(command: str, disabled: bool, doc: str) -> None:
    """Register ``disable`` or ``enable``: set the host's ``disabled`` and say so."""
    word = "disabled" if disabled else "enabled"

    def act(client: Client, name: str) -> Answer:
        host = client.set_host_disabled(name, disabled)
        return host, lambda: console.print(f"host {name} {word}")

    add_target_command(host_app, command, doc, HOST_ARGUMENT, act)


_add_state_command("disable", True, "Stop scheduling servers to a host (its servers stay).")
_add_state_command("enable", False, "Schedule servers to a host again.")
