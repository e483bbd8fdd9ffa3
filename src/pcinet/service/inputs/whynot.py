"""``POST /v1/why-not``: a server create's body (``name`` optional), plus new ports."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pcinet.core.port import VnicType
from pcinet.service.inputs.base import Body
from pcinet.service.inputs.limits import MAX_SERVER_PORTS
from pcinet.service.inputs.servers import FlavorBody
from pcinet.service.inputs.text import Description, Name, NonEmptyName

MAX_NEW_PORTS = 16
DEVICE_VNIC_TYPES = (VnicType.DIRECT, VnicType.DIRECT_PHYSICAL, VnicType.MACVTAP)


class NewPort(Body):
    network: NonEmptyName = Field(description="network id or name (one the caller sees)")
    vnic_type: Annotated[
        str, Field(json_schema_extra={"enum": [v.value for v in DEVICE_VNIC_TYPES]})
    ] = VnicType.DIRECT.value


class ServerWhyNot(Body):
    """The body of ``POST /v1/servers`` (so a refused boot's body can be sent as is), with
    ``name`` optional and ``networks``: ports not created yet, after ``ports``."""

    WHERE = "server"

    name: Name = ""
    description: Description = ""
    flavor: FlavorBody
    ports: Annotated[list[NonEmptyName], Field(max_length=MAX_SERVER_PORTS)] = Field(
        default_factory=list, description="existing port ids, as a boot names them"
    )
    networks: Annotated[list[NewPort], Field(max_length=MAX_NEW_PORTS)] = Field(
        default_factory=list, description="new ports: a vnic type on a network each"
    )
