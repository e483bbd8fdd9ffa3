"""The two ``pcinet plan`` file formats, declared once: a CLOUD and a REQUEST.

These pydantic models are the single definition of each file's shape: which properties an
object has, their types, which are required, and what they mean. ``check_shape`` validates a
loaded document against them (unknown properties, missing ones, wrong types, bounds) and
turns the first problem into the domain error of the object at fault, naming the field
(``hosts[1].devices[0].dev_type: 'type-XX' is not one of type-PCI, type-PF, type-VF``).
The meaning of values that need the domain (PCI addresses, device spec globs, alias
counts, extra specs, segments) is checked by the core parsers, which the REST API shares.

``pcinet plan --schema cloud|request`` prints their JSON Schema; docs/file-formats.md is
generated from them (``python -m pcinet.filedocs --write``) and a test keeps it in step.
The core parsers' own lists of accepted keys (for the REST API) are tested to stay these.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pcinet.core.errors import (
    InvalidAlias,
    InvalidDevice,
    InvalidDeviceSpec,
    InvalidFlavor,
    InvalidInput,
    InvalidNetwork,
    InvalidPort,
)

MAX_INT = 2**31 - 1  # what a database integer column holds
M = TypeVar("M", bound=BaseModel)

Amount = Annotated[int, Field(ge=0, le=MAX_INT, strict=True)]
Positive = Annotated[int, Field(ge=1, le=MAX_INT, strict=True)]


class _Object(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class HostCellFile(_Object):
    """One host NUMA cell and its free resources."""

    id: Amount = Field(description="The cell's id (unique on the host).")
    vcpus: Amount = Field(description="Free vCPUs on the cell.")
    memory_mb: Amount = Field(description="Free memory on the cell, in MB.")
    socket: int | None = Field(None, description="The CPU socket the cell sits on.")


class DeviceFile(_Object):
    """One PCI device of a host, as the host reports it."""

    address: str = Field(description="PCI address, dddd:bb:ss.f (the domain may be left out).")
    vendor_id: str = Field(description="Vendor id, 4 hex digits (optional 0x).")
    product_id: str = Field(description="Product id, 4 hex digits (optional 0x).")
    dev_type: Literal["type-PCI", "type-PF", "type-VF"] = Field(
        description="type-PF (SR-IOV physical function), type-VF, or type-PCI (anything else)."
    )
    parent_address: str | None = Field(
        None, description="The PF's address; required for (and only for) a type-VF."
    )
    numa_node: Annotated[int, Field(ge=0, strict=True)] | None = Field(
        None, description="The NUMA cell the device is attached to."
    )
    devname: str | None = Field(None, description="The network interface name, if any.")
    status: Literal["available", "allocated"] = Field(
        "available", description="allocated: already in use (blocks its PF or its VFs)."
    )
    tags: dict[str, Any] = Field(
        default_factory=dict,
        description="Tags when no device_spec applies (physical_network: a string or null).",
    )
    vf_index: Annotated[int, Field(ge=0, strict=True)] | None = Field(
        None, description="A VF's index on its PF (type-VF only)."
    )
    pcie_root: str | None = Field(
        None, description="The PCIe root the device hangs from, e.g. pci0000:5d/0000:5d:00.0."
    )
    mac_address: str | None = Field(None, description="The device's MAC address, as read.")


class HostFile(_Object):
    """One compute host: free resources, NUMA cells and PCI devices."""

    name: Annotated[str, Field(min_length=1)] = Field(description="The host name (unique).")
    vcpus: Amount = Field(description="Free vCPUs.")
    memory_mb: Amount = Field(description="Free memory, in MB.")
    numa_cells: list[HostCellFile] | None = Field(None, description="The host's NUMA cells.")
    device_spec: list[Any] | None = Field(
        None,
        description="This host's Nova [pci] device_spec entries (objects or JSON text); "
        "replaces the cloud's.",
    )
    devices: list[DeviceFile] | None = Field(None, description="The host's PCI devices.")
    disabled: bool = Field(False, description="A disabled host is not scheduled.")


def _typed(description: str, *types: str) -> Any:
    """An optional property whose value the core parser checks; ``types`` for the schema."""
    kind: Any = types[0] if len(types) == 1 else list(types)
    return Field(None, description=description, json_schema_extra={"type": kind})


class SegmentFile(_Object):
    """One segment of a network (Neutron's provider attributes)."""

    network_type: Literal["flat", "vlan", "vxlan", "geneve", "gre"] = Field(
        alias="provider:network_type", description="The segment's type."
    )
    physical_network: str | None = Field(
        None,
        alias="provider:physical_network",
        description="The physnet (flat and vlan only; null for overlays).",
    )
    segmentation_id: Annotated[int, Field(strict=True)] | None = Field(
        None,
        alias="provider:segmentation_id",
        description="VLAN id 1-4094 (vlan), VNI (vxlan, geneve) or key (gre); none for flat.",
    )


class NetworkFile(_Object):
    """A Neutron network: the provider attributes of one segment, or ``segments``."""

    name: Annotated[str, Field(min_length=1)] = Field(description="The network's name (unique).")
    id: str | None = Field(None, description="Neutron's id, when known.")
    network_type: Literal["flat", "vlan", "vxlan", "geneve", "gre"] | None = Field(
        None, alias="provider:network_type", description="One segment: its type."
    )
    physical_network: str | None = Field(
        None, alias="provider:physical_network", description="One segment: its physnet."
    )
    segmentation_id: Annotated[int, Field(strict=True)] | None = Field(
        None, alias="provider:segmentation_id", description="One segment: its id."
    )
    segments: list[SegmentFile] | None = Field(
        None, description="Several segments (any of their physnets will do for a port)."
    )
    shared: Any = _typed("Accepted and ignored.", "boolean")
    description: Any = _typed("Accepted and ignored.", "string")
    admin_state_up: Any = _typed("Accepted and ignored.", "boolean")
    mtu: Any = _typed("Accepted and ignored.", "integer")
    project_id: Any = _typed("Accepted and ignored.", "string")
    tenant_id: Any = _typed("Accepted and ignored.", "string")
    router_external: Any = Field(
        None,
        alias="router:external",
        description="Accepted and ignored.",
        json_schema_extra={"type": "boolean"},
    )
    status: Any = _typed("Accepted and ignored.", "string")


class CloudFile(_Object):
    """A CLOUD file: device specs, aliases, networks and hosts."""

    device_spec: list[Any] | None = Field(
        None,
        description="Nova [pci] device_spec entries (objects, or JSON text of one or a list): "
        "which devices are assignable and their tags. Absent: every device, with its own tags.",
    )
    alias: list[Any] | None = Field(
        None, description="Nova [pci] alias entries (objects or JSON text)."
    )
    networks: list[NetworkFile] | None = Field(None, description="Neutron networks.")
    hosts: list[HostFile] | None = Field(None, description="The compute hosts.")


class FlavorFile(_Object):
    """The server's flavor."""

    vcpus: Positive = Field(description="vCPUs.")
    memory_mb: Positive = Field(description="Memory, in MB.")
    extra_specs: dict[str, Any] = Field(
        default_factory=dict,
        description="Nova extra specs (strings; numbers and booleans are taken as strings).",
    )


VNIC_TYPES = Literal[
    "normal",
    "direct",
    "macvtap",
    "direct-physical",
    "virtio-forwarder",
    "remote-managed",
    "vdpa",
    "baremetal",
]


class PortFile(_Object):
    """A Neutron port; a port whose vnic type needs a device asks the scheduler for one."""

    network: str | None = Field(None, description="The network's name (or give network_id).")
    network_id: str | None = Field(None, description="The network's name or id.")
    vnic_type: VNIC_TYPES = Field(
        "normal",
        alias="binding:vnic_type",
        description="direct, macvtap, virtio-forwarder, remote-managed, vdpa: a VF; "
        "direct-physical: a whole PF; normal, baremetal: no device.",
    )
    profile: dict[str, Any] | None = Field(
        None,
        alias="binding:profile",
        description="Neutron's binding profile; trusted: true asks for a trusted VF.",
    )
    mac_address: str | None = Field(None, description="A unicast MAC address.")
    port_security_enabled: Any = _typed(
        "true/false, or a strict boolean string (yes, no, on, off, 1, 0, ...).",
        "boolean",
        "string",
    )
    admin_state_up: Any = _typed("true/false, or a strict boolean string.", "boolean", "string")
    numa_affinity_policy: Literal["required", "legacy", "preferred", "socket"] | None = Field(
        None, description="Overrides the flavor's hw:pci_numa_affinity_policy for this port."
    )
    name: str | None = Field(None, description="The port's name.")
    id: str | None = Field(None, description="The port's id.")
    description: Any = _typed("Accepted and ignored.", "string")
    project_id: Any = _typed("Accepted and ignored.", "string")
    tenant_id: Any = _typed("Accepted and ignored.", "string")


class RequestFile(_Object):
    """A REQUEST file: a flavor and ports."""

    name: str | None = Field(None, description="A name for the server (informational).")
    flavor: FlavorFile = Field(description="The flavor.")
    ports: list[PortFile] | None = Field(None, description="The server's ports, in order.")


SCHEMAS: dict[str, type[BaseModel]] = {"cloud": CloudFile, "request": RequestFile}

# The innermost of these properties on an error's path names the kind of object at fault.
_ERRORS: dict[str, type[InvalidInput]] = {
    "devices": InvalidDevice,
    "device_spec": InvalidDeviceSpec,
    "alias": InvalidAlias,
    "networks": InvalidNetwork,
    "flavor": InvalidFlavor,
    "ports": InvalidPort,
}


def _field(where: str, loc: tuple[int | str, ...]) -> str:
    out = where
    for part in loc:
        out = f"{out}[{part}]" if isinstance(part, int) else f"{out}.{part}" if out else part
    return out


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: Any) -> str:
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    simple = {
        "missing": "required property is missing",
        "extra_forbidden": "unknown property",
        "int_type": f"expected an integer, got {_show(value)}",
        "string_type": f"expected a string, got {_show(value)}",
        "string_too_short": f"expected a non-empty string, got {_show(value)}",
        "bool_type": f"expected true or false, got {_show(value)}",
        "list_type": f"expected a list, got {_show(value)}",
        "dict_type": f"expected an object, got {_show(value)}",
        "model_type": f"expected an object, got {_show(value)}",
        "greater_than_equal": f"expected an integer >= {ctx.get('ge')}, got {_show(value)}",
        "less_than_equal": f"{_show(value)} is above {ctx.get('le')}",
        "literal_error": f"{_show(value)} is not one of {ctx.get('expected')}",
    }
    return simple.get(kind, str(error["msg"]))


def check_shape(model: type[M], data: Any, where: str = "", *, root: str = "") -> M:
    """``data`` validated against ``model``; else the first problem as the domain error of
    the object at fault, naming ``where`` + the path (``root`` for the document itself)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = tuple(error["loc"])
        field = _field(where, loc) or root
        kind = next(
            (_ERRORS[p] for p in reversed(loc) if isinstance(p, str) and p in _ERRORS), None
        )
        raise (kind or InvalidInput)(f"{field}: {_message(error)}", field=field) from None


def json_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of the ``cloud`` or ``request`` file format."""
    schema = SCHEMAS[name].model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
