"""``POST /v1/networks``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from pcinet.core.network import _ID_RANGES, NetworkType
from pcinet.service.inputs.base import Body, Int
from pcinet.service.inputs.limits import MAX_SEGMENTS
from pcinet.service.inputs.text import Description, Name, NonEmptyName

_TYPES = [t.value for t in NetworkType]
# The largest segmentation id of any type (a GRE key); the core checks each type's range.
_MAX_SEGMENTATION_ID = max(high for _, _, high in _ID_RANGES.values())

NetworkTypeName = Annotated[str, Field(json_schema_extra={"enum": _TYPES})]
SegmentationId = Annotated[
    Int,
    Field(
        description="VLAN 1-4094, VNI 1-16777215 (vxlan, geneve), GRE key 1-4294967295",
        json_schema_extra={"minimum": 1, "maximum": _MAX_SEGMENTATION_ID},
    ),
]


class Provider(Body):
    """The three ``provider:*`` attributes of a segment."""

    network_type: NetworkTypeName | None = Field(None, alias="provider:network_type")
    physical_network: Name | None = Field(None, alias="provider:physical_network")
    segmentation_id: SegmentationId | None = Field(None, alias="provider:segmentation_id")


class SegmentBody(Provider):
    network_type: NetworkTypeName = Field(alias="provider:network_type")


class NetworkCreate(Provider):
    """A network: a tenant network without ``provider:*`` and ``segments``."""

    WHERE = "network"

    name: NonEmptyName
    description: Description = ""
    shared: bool = False
    admin_state_up: bool = True
    project_id: NonEmptyName | None = None
    tenant_id: NonEmptyName | None = None
    segments: Annotated[list[SegmentBody], Field(max_length=MAX_SEGMENTS)] | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)
