"""``pcinet host list|show|disable|enable`` (admin): compute hosts and their devices."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from pcinet.cli.output import console
from pcinet.cli.remote import JsonOption, TokenOption, UrlOption, connect, show, table
from pcinet.client import DEFAULT_URL

host_app = typer.Typer(
    help="Compute hosts (admin): list, show, disable, enable.", no_args_is_help=True
)

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


def _used(host: Mapping[str, Any], used: str, total: str) -> str:
    return f"{host.get(used, '?')}/{host.get(total, '?')}"


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
                d.get("server_id"),
            )
        )
    console.print(table("devices", DEVICE_COLUMNS, rows))


@host_app.command("list")
def list_(
    *,
    disabled: Annotated[
        bool | None, typer.Option("--disabled/--enabled", help="Only disabled (enabled) hosts.")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the hosts with their free capacity."""
    with connect(url, token, as_json=as_json) as client:
        hosts = client.list_hosts(disabled=disabled)
    rows = [
        (
            h.get("name"),
            "disabled" if h.get("disabled") else "enabled",
            h.get("alive"),
            _used(h, "vcpus_used", "vcpus"),
            _used(h, "memory_used_mb", "memory_mb"),
            f"{h.get('devices_free')}/{h.get('device_count')}",
        )
        for h in hosts
    ]
    columns = ("host", "state", "alive", "vCPUs used", "memory used (MB)", "devices free")
    show(hosts, as_json=as_json, render=lambda: console.print(table(None, columns, rows)))


@host_app.command("show")
def show_(
    *,
    name: Annotated[str, typer.Argument(help="Host name.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a host: every device with its physnet, status and the server holding it."""
    with connect(url, token, as_json=as_json) as client:
        host = client.get_host(name)
    show(host, as_json=as_json, render=lambda: print_host(host))


def _set_disabled(name: str, disabled: bool, url: str, token: str | None, as_json: bool) -> None:
    with connect(url, token, as_json=as_json) as client:
        host = client.set_host_disabled(name, disabled)
    word = "disabled" if disabled else "enabled"
    show(host, as_json=as_json, render=lambda: console.print(f"host {name} {word}"))


@host_app.command("disable")
def disable(
    *,
    name: Annotated[str, typer.Argument(help="Host name.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Stop scheduling servers to a host (its servers stay)."""
    _set_disabled(name, True, url, token, as_json)


@host_app.command("enable")
def enable(
    *,
    name: Annotated[str, typer.Argument(help="Host name.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Schedule servers to a host again."""
    _set_disabled(name, False, url, token, as_json)
