"""``pcinet network create|list|show|delete``: Neutron-style networks on a controller.

A network is named by id or by name wherever one is expected (a name must be unique).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

import typer

from pcinet.cli.output import console
from pcinet.cli.remote import (
    JsonOption,
    TokenOption,
    UrlOption,
    connect,
    print_fields,
    resolve,
    show,
    table,
)
from pcinet.client import DEFAULT_URL, Json
from pcinet.core.errors import InvalidInput

network_app = typer.Typer(help="Networks: create, list, show, delete.", no_args_is_help=True)


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
    as_json: JsonOption = False,
) -> None:
    """Create a network: provider (``--provider-*`` or ``--segment``, admin) or tenant."""
    with connect(url, token, as_json=as_json) as client:
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
    show(network, as_json=as_json, render=lambda: print_fields("network", network))


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
    as_json: JsonOption = False,
) -> None:
    """List the networks the caller sees."""
    with connect(url, token, as_json=as_json) as client:
        networks = client.list_networks(name=name, shared=shared, project_id=project_id)
    rows = [
        (
            n.get("id"),
            n.get("name"),
            n.get("project_id"),
            n.get("shared"),
            n.get("status"),
            provider_summary(n),
        )
        for n in networks
    ]
    columns = ("id", "name", "project", "shared", "status", "segments")
    show(networks, as_json=as_json, render=lambda: console.print(table(None, columns, rows)))


@network_app.command("show")
def show_(
    *,
    network: Annotated[str, typer.Argument(help="Network id or name.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one network."""
    with connect(url, token, as_json=as_json) as client:
        data = client.get_network(resolve(network, "network", client.list_networks))
    show(data, as_json=as_json, render=lambda: print_fields("network", data))


@network_app.command("delete")
def delete(
    *,
    network: Annotated[str, typer.Argument(help="Network id or name.")],
    url: UrlOption = DEFAULT_URL,
    token: TokenOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a network (refused while it has ports: exit 1, ``network_in_use``)."""
    with connect(url, token, as_json=as_json) as client:
        network_id = resolve(network, "network", client.list_networks)
        client.delete_network(network_id)
    show(
        {"id": network_id, "deleted": True},
        as_json=as_json,
        render=lambda: console.print(f"deleted network {network_id}"),
    )
