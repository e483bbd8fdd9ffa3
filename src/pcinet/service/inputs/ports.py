"""``POST /v1/ports`` and ``PUT /v1/ports/{id}/status``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, JsonValue

from pcinet.core.port import VnicType
from pcinet.core.request import NumaPolicy
from pcinet.service.inputs.base import Body, Int
from pcinet.service.inputs.limits import MAX_INT, MAX_PROFILE_BYTES, MAX_REPORT_ERROR
from pcinet.service.inputs.text import Description, Name, NonEmptyName, check_json, storable


def _profile(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    return check_json(value, max_bytes=MAX_PROFILE_BYTES, limit_name="binding:profile")  # type: ignore[no-any-return]


Profile = Annotated[
    dict[str, JsonValue],
    AfterValidator(_profile),
    Field(description=f"at most {MAX_PROFILE_BYTES} bytes as JSON"),
]
Rate = Annotated[Int, Field(ge=0, le=MAX_INT, description="Mbps")]
Mac = Annotated[
    str,
    Field(
        max_length=17,
        json_schema_extra={"pattern": "^[0-9a-fA-F]{2}([:-][0-9a-fA-F]{2}){5}$"},
        description="a unicast MAC address",
    ),
]


class PortCreate(Body):
    WHERE = "port"

    network_id: NonEmptyName
    name: Name = ""
    description: Description = ""
    mac_address: Mac | None = None
    vnic_type: Annotated[str, Field(json_schema_extra={"enum": [v.value for v in VnicType]})] = (
        Field(VnicType.NORMAL.value, alias="binding:vnic_type")
    )
    profile: Profile | None = Field(None, alias="binding:profile")
    port_security_enabled: bool = True
    admin_state_up: bool = True
    numa_affinity_policy: (
        Annotated[str, Field(json_schema_extra={"enum": [p.value for p in NumaPolicy]})] | None
    ) = None
    min_tx_rate: Rate | None = None
    max_tx_rate: Rate | None = None
    project_id: NonEmptyName | None = None
    tenant_id: NonEmptyName | None = None

    def data(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_unset=True, exclude_none=True)


class PortStatus(Body):
    WHERE = "body"

    status: Literal["DOWN", "BUILD", "ACTIVE", "ERROR"]
    error: Annotated[str, Field(max_length=MAX_REPORT_ERROR), AfterValidator(storable)] | None = (
        None
    )
    generation: (
        Annotated[
            Int,
            Field(
                ge=1,
                le=MAX_INT,
                description="The generation of the port's VF state the report is about (as "
                "GET /v1/hosts/{name}/vf-state gives it); a report of an older one changes "
                "nothing. Without it, the report is about the current generation.",
            ),
        ]
        | None
    ) = None
