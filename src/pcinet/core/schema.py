"""The shapes of the objects the core parsers read, declared once as pydantic models.

A device, a network and its segments, a flavor, a port, a Nova alias entry and the regular
expression form of a device spec's address: each model is the one list of the object's
properties, their types, defaults and meaning. The CLOUD and REQUEST files of ``pcinet
plan`` are built from them (``pcinet.fileschema``, which validates whole files and
documents them), and the core parsers, which the REST API shares, take their accepted and
required keys from them with ``check_keys``: no parser keeps a key list of its own.

Checking keys is cheap (a cached set per model), so the parsers stay fast on large
inventories; the values are checked by the parsers, which know what they mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from pcinet.core.errors import InvalidInput

MAX_INT = 2**31 - 1  # what a database integer column holds
MAX_NUMA_NODE = 1023  # Linux's largest NUMA node number (CONFIG_NODES_SHIFT 10)

Amount = Annotated[int, Field(ge=0, le=MAX_INT, strict=True)]
Positive = Annotated[int, Field(ge=1, le=MAX_INT, strict=True)]


class Shape(BaseModel):
    """An object with exactly these properties (strict JSON types, nothing else)."""

    model_config = ConfigDict(extra="forbid", strict=True)


@cache
def keys_of(shape: type) -> frozenset[str]:
    """The properties of a ``Shape`` (as written in input: by alias), or the field names of
    a dataclass whose fields are its input's keys (``VfConfig``)."""
    if isinstance(shape, type) and issubclass(shape, BaseModel):
        return frozenset(f.alias or name for name, f in shape.model_fields.items())
    if is_dataclass(shape):
        return frozenset(f.name for f in fields(shape))
    raise TypeError(f"{shape!r} is neither a pydantic model nor a dataclass")


@cache
def required_of(shape: type[BaseModel]) -> tuple[str, ...]:
    """The properties of ``shape`` that have no default, in declaration order."""
    return tuple(f.alias or name for name, f in shape.model_fields.items() if f.is_required())


def unknown_key(data: Mapping[Any, Any], shape: type) -> str | None:
    """The first (sorted) key of ``data`` that ``shape`` does not have, or None."""
    known = keys_of(shape)
    if known.issuperset(data):
        return None
    return min(str(k) for k in data if k not in known)


def check_keys(
    data: Mapping[Any, Any],
    shape: type,
    where: str,
    *,
    error: type[InvalidInput],
    unknown: str = "unknown property",
    suffix: str = "",
    required: bool = True,
) -> None:
    """Refuse a key of ``data`` that ``shape`` does not declare, then (with ``required``) a
    required one that is missing, as ``error`` naming ``where.<key>``:
    ``port.fixed_ips: unknown port property``, ``device.address: required property is
    missing``. ``suffix`` ends the message (`` (alias 'gpu')``)."""
    key = unknown_key(data, shape)
    if key is not None:
        raise error(f"{where}.{key}: {unknown}{suffix}", field=f"{where}.{key}")
    if required and isinstance(shape, type) and issubclass(shape, BaseModel):
        for key in required_of(shape):
            if key not in data:
                field = f"{where}.{key}"
                raise error(f"{field}: required property is missing{suffix}", field=field)


class DeviceFile(Shape):
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
    numa_node: Annotated[int, Field(ge=0, le=MAX_NUMA_NODE, strict=True)] | None = Field(
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


def _typed(description: str, *types: str) -> Any:
    """An optional property whose value the core parser checks; ``types`` for the schema."""
    kind: Any = types[0] if len(types) == 1 else list(types)
    return Field(None, description=description, json_schema_extra={"type": kind})


class SegmentFile(Shape):
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


class NetworkFile(Shape):
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


class FlavorFile(Shape):
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


class PortFile(Shape):
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


class AliasFile(Shape):
    """One Nova ``[pci] alias`` entry (an object, or its JSON text). Entries that repeat a
    name are alternatives of one alias."""

    name: str = Field(description="The alias name, without ':' or ','.")
    vendor_id: str | None = Field(None, description="Vendor id, 4 hex digits.")
    product_id: str | None = Field(None, description="Product id, 4 hex digits.")
    device_type: Literal["type-PCI", "type-PF", "type-VF"] | None = Field(
        None, description="Without it, any device but a PF."
    )
    numa_policy: Literal["required", "legacy", "preferred", "socket"] | None = Field(
        None, description="The NUMA affinity policy (default legacy)."
    )
    resource_class: str | None = Field(None, description="A placement resource class.")
    traits: str | None = Field(None, description="Comma-separated placement traits.")
    live_migratable: Any = _typed(
        "true/false, or a strict boolean string (yes, no, on, off, 1, 0, ...).",
        "boolean",
        "string",
    )
    capability_type: Literal["pci"] | None = Field(None, description="Only pci.")


class RegexAddressFile(Shape):
    """A device spec's ``address`` as an object: each field a regular expression matched
    as a prefix of the zero-padded hex field."""

    domain: str = Field(".*", description="The domain, 4 hex digits.")
    bus: str = Field(".*", description="The bus, 2 hex digits.")
    slot: str = Field(".*", description="The slot, 2 hex digits.")
    function: str = Field(".*", description="The function, 1 digit.")
