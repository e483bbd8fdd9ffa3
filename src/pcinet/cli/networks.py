"""``pcinet network create|list|show|delete``: Neutron-style networks on a controller.

A network is named by id or by name wherever one is expected (a name must be unique).
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
    print_fields,
    show,
    show_rows,
)
from pcinet.client import DEFAULT_URL, Client, Json
from pcinet.core.errors import InvalidInput

network_app = new_app(help="Networks: create, list, show, delete.", no_args_is_help=True)

NETWORK_COLUMNS = ("id", "name", "project", "shared", "status", "segments")


def parse_segment(text: str) -> Json:
    """``TYPE:PHYSNET:ID`` to a segment object; PHYSNET and ID may be empty or left out
    (``vlan:phy1`` takes a VLAN from the range, ``vxlan::5000`` has no physnet)."""
    parts = text.split(":")
    if len(parts) > 3 or not parts[0].strip():
        raise InvalidInput(
            f"--segment: {text!r} is not of the form TYPE:PHYSNET:ID", field="--segment"
        )
    segment: Json = {"provider:network_type": parts[0].strip()}
    physnet = parts[1].strip() if len(parts) > 1 else ""
    if physnet:
        segment["provider:physical_network"] = physnet
    seg_id = parts[2].strip() if len(parts) > 2 else ""
    if seg_id:
        try:
            segment["provider:segmentation_id"] = int(seg_id)
        except ValueError:
            raise InvalidInput(
                f"--segment: {text!r}: segmentation id {seg_id!r} is not an integer",
                field="--segment",
            ) from None
    return segment


def provider_summary(network: Mapping[str, Any]) -> str:
    """``vlan phy1 100`` for one segment, ``;``-separated for several; ``-`` when hidden."""
    segments = network.get("segments")
    if not isinstance(segments, list):
        segments = [network] if "provider:network_type" in network else []
    parts = []
    for seg in segments:
        words = [
            str(seg.get(key))
            for key in (
                "provider:network_type",
                "provider:physical_network",
                "provider:segmentation_id",
            )
            if seg.get(key) is not None
        ]
        parts.append(" ".join(words))
    return "; ".join(parts) or "-"


def network_row(network: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        network.get("id"),
        network.get("name"),
        network.get("project_id"),
        network.get("shared"),
        network.get("status"),
        provider_summary(network),
    )


@network_app.command("create")
def create(
    *,
    name: Annotated[str, typer.Argument(help="Network name.")],
    network_type: Annotated[
        str | None, typer.Option("--provider-network-type", help="flat, vlan, vxlan, ...")
    ] = None,
    physical_network: Annotated[
        str | None, typer.Option("--provider-physical-network", help="The physnet.")
    ] = None,
    segmentation_id: Annotated[
        int | None,
        typer.Option(
            "--provider-segmentation-id", help="VLAN or VNI; a vlan without one takes a free one."
        ),
    ] = None,
    segments: Annotated[
        list[str] | None,
        typer.Option(
            "--segment",
            help="TYPE:PHYSNET:ID, repeated: a multi-segment network (PHYSNET, ID may be empty).",
        ),
    ] = None,
    shared: Annotated[bool, typer.Option("--shared", help="Visible to every project.")] = False,
    project_id: Annotated[
        str | None, typer.Option("--project-id", help="Owner project (admin).")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create a network: provider (``--provider-*`` or ``--segment``, admin) or tenant."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        body: Json = {"name": name}
        for key, value in (
            ("provider:network_type", network_type),
            ("provider:physical_network", physical_network),
            ("provider:segmentation_id", segmentation_id),
        ):
            if value is not None:
                body[key] = value
        if segments:
            body["segments"] = [parse_segment(s) for s in segments]
        if shared:
            body["shared"] = True
        if project_id is not None:
            body["project_id"] = project_id
        network = client.create_network(body)
    show(network, out=out, render=lambda: print_fields("network", network))


@network_app.command("list")
def list_(
    *,
    name: Annotated[str | None, typer.Option("--name", help="Only this name.")] = None,
    shared: Annotated[
        bool | None, typer.Option("--shared/--not-shared", help="Only (not) shared ones.")
    ] = None,
    project_id: Annotated[str | None, typer.Option("--project-id", help="Admin.")] = None,
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    fmt: FormatOption = None,
    columns: ColumnOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the networks the caller sees."""
    out = output_of(fmt, columns, as_json)
    with connect(url, token, as_json=out.structured) as client:
        networks = client.list_networks(name=name, shared=shared, project_id=project_id)
    show_rows(networks, NETWORK_COLUMNS, network_row, out=out)


add_show_command(
    network_app,
    "network",
    "Show one network.",
    get=Client.get_network,
    lister=Client.list_networks,
)
add_delete_command(
    network_app,
    "network",
    "Delete a network (refused while it has ports: exit 1, ``network_in_use``).",
    delete=Client.delete_network,
    lister=Client.list_networks,
)
