"""``PUT /v1/hosts/{name}`` (an inventory report), ``PUT /v1/hosts/{name}/disabled`` and
``PUT /v1/hosts/{name}/vf-state/{address}``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, JsonValue, model_validator

from pcinet.core.pci import DevType
from pcinet.core.schema import MAX_NUMA_NODE, DeviceFile
from pcinet.service.inputs.base import Body, Int
from pcinet.service.inputs.limits import (
    MAX_DEVICE_SPECS,
    MAX_DEVICES,
    MAX_INT,
    MAX_NUMA_CELLS,
    MAX_OBJECT_BYTES,
    MAX_REPORT_ERROR,
)
from pcinet.service.inputs.text import Name, NonEmptyName, check_json, storable


def _object(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    return check_json(value, max_bytes=MAX_OBJECT_BYTES, limit_name="object")  # type: ignore[no-any-return]


JsonObject = Annotated[
    dict[str, JsonValue],
    AfterValidator(_object),
    Field(description=f"at most {MAX_OBJECT_BYTES} bytes as JSON"),
]
Count = Annotated[Int, Field(json_schema_extra={"minimum": 0, "maximum": MAX_INT})]
HexId = Annotated[str, Field(max_length=255, json_schema_extra={"pattern": "^[0-9a-fA-F]{4}$"})]
Address = Annotated[
    str,
    Field(
        max_length=255,
        json_schema_extra={"pattern": "^[0-9a-fA-F]{4}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\\.[0-7]$"},
    ),
]


class Cell(Body):
    id: Count
    vcpus: Count
    memory_mb: Count
    socket: Annotated[Int, Field(ge=0, le=MAX_INT)] | None = None


def _device_properties(schema: dict[str, Any]) -> None:
    # The properties declared here carry the API's storage limits; the others go to the core
    # as sent, so /openapi.json documents them from the device's one declaration.
    for key, prop in DeviceFile.model_json_schema(by_alias=True)["properties"].items():
        schema["properties"].setdefault(key, prop)
    schema["additionalProperties"] = False  # refused by the core, naming the property


class DeviceReport(Body):
    """A PCI device as the host found it: a CLOUD file's device (``pcinet.core.schema``).
    Other properties are passed to the core, which knows them (or refuses them by name)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_device_properties)

    address: Address
    vendor_id: HexId
    product_id: HexId
    dev_type: Annotated[str, Field(json_schema_extra={"enum": [t.value for t in DevType]})]
    parent_address: Address | None = None
    numa_node: Annotated[Int, Field(ge=0, le=MAX_NUMA_NODE)] | None = None
    devname: Name | None = None
    status: Annotated[str, Field(json_schema_extra={"enum": ["available", "allocated"]})] = (
        "available"
    )
    tags: JsonObject | None = None

    @model_validator(mode="after")
    def _extras_storable(self) -> DeviceReport:
        if self.model_extra:
            check_json(self.model_extra, max_bytes=MAX_OBJECT_BYTES, limit_name="object")
        return self


class HostReport(Body):
    WHERE = "host"

    name: NonEmptyName | None = None
    vcpus: Count
    memory_mb: Count
    # null as in a CLOUD file: no cells, no devices (device_spec: null is "none assignable")
    numa_cells: Annotated[list[Cell], Field(max_length=MAX_NUMA_CELLS)] | None = Field(
        default_factory=list
    )
    device_spec: Annotated[list[JsonObject], Field(max_length=MAX_DEVICE_SPECS)] | None = None
    devices: Annotated[list[DeviceReport], Field(max_length=MAX_DEVICES)] | None = Field(
        default_factory=list
    )

    def data(self) -> dict[str, Any]:
        """The report as sent, but for its own null properties (none given). The devices go to
        the core as sent: a null ``status`` or an unknown property, even a null one, is
        refused there by name, as in a CLOUD file."""
        sent = self.model_dump(by_alias=True, exclude_unset=True)
        return {key: value for key, value in sent.items() if value is not None}


class Disabled(Body):
    disabled: bool


ReportError = Annotated[str, Field(max_length=MAX_REPORT_ERROR), AfterValidator(storable)]


class VfReport(Body):
    generation: Annotated[Int, Field(ge=1, le=MAX_INT)]
    status: Literal["applied", "restored", "error"]
    error: ReportError | None = None
    original: JsonObject | None = Field(
        None, description="the VF's settings before the first change (the core checks them)"
    )
