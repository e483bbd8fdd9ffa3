"""The two ``pcinet plan`` file formats, declared once: a CLOUD and a REQUEST.

These pydantic models are the single definition of each file's shape: which properties an
object has, their types, which are required, and what they mean. The objects the core
parsers read (devices, networks, segments, flavors, ports, alias entries) are declared in
``pcinet.core.schema``, so that the core (and through it the REST API) takes its keys from
the same models; this module composes them into files and is the public face of both.

``check_shape`` validates a loaded document against them (unknown properties, missing
ones, wrong types, bounds) and turns the first problem into the domain error of the object
at fault, naming the field
(``hosts[1].devices[0].dev_type: 'type-XX' is not one of type-PCI, type-PF, type-VF``).
The meaning of values that need the domain (PCI addresses, device spec globs, alias
counts, extra specs, segments) is checked by the core parsers, which the REST API shares.

``pcinet plan --schema cloud|request`` prints their JSON Schema; docs/file-formats.md is
generated from them (``python -m pcinet.filedocs --write``) and a test keeps it in step.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from pcinet.core.errors import (
    InvalidAlias,
    InvalidDevice,
    InvalidDeviceSpec,
    InvalidFlavor,
    InvalidInput,
    InvalidNetwork,
    InvalidPort,
)
from pcinet.core.schema import (
    MAX_INT,
    AliasFile,
    Amount,
    DeviceFile,
    FlavorFile,
    NetworkFile,
    PortFile,
    RegexAddressFile,
    SegmentFile,
    Shape,
)

__all__ = [
    "MAX_INT",
    "SCHEMAS",
    "AliasFile",
    "CloudFile",
    "DeviceFile",
    "FlavorFile",
    "HostCellFile",
    "HostFile",
    "NetworkFile",
    "PortFile",
    "RegexAddressFile",
    "RequestFile",
    "SegmentFile",
    "check_shape",
    "json_schema",
]

M = TypeVar("M", bound=BaseModel)


class HostCellFile(Shape):
    """One host NUMA cell and its free resources."""

    id: Amount = Field(description="The cell's id (unique on the host).")
    vcpus: Amount = Field(description="Free vCPUs on the cell.")
    memory_mb: Amount = Field(description="Free memory on the cell, in MB.")
    socket: Amount | None = Field(None, description="The CPU socket the cell sits on.")


class HostFile(Shape):
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


class CloudFile(Shape):
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


class RequestFile(Shape):
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
