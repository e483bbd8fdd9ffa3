"""``POST /v1/servers``."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, JsonValue

from pcinet.core.flavor import MAX_AMOUNT
from pcinet.service.inputs.base import Body, Int
from pcinet.service.inputs.limits import MAX_EXTRA_SPEC_TEXT, MAX_EXTRA_SPECS, MAX_SERVER_PORTS
from pcinet.service.inputs.text import Description, NonEmptyName, check_json, limit_error


def _extra_specs(value: dict[str, JsonValue]) -> dict[str, JsonValue]:
    if len(value) > MAX_EXTRA_SPECS:
        raise limit_error(f"has {len(value)} keys, at most {MAX_EXTRA_SPECS} are allowed")
    for key, spec in value.items():
        if len(key) > MAX_EXTRA_SPEC_TEXT:
            raise limit_error(f"a key is longer than {MAX_EXTRA_SPEC_TEXT} characters")
        if isinstance(spec, str) and len(spec) > MAX_EXTRA_SPEC_TEXT:
            raise limit_error(f"is longer than {MAX_EXTRA_SPEC_TEXT} characters", f".{key}")
    check_json(value, max_bytes=2**20, limit_name="extra_specs")
    return value


Amount = Annotated[Int, Field(json_schema_extra={"minimum": 1, "maximum": MAX_AMOUNT})]
ExtraSpecs = Annotated[
    dict[str, JsonValue],
    AfterValidator(_extra_specs),
    Field(
        description=(
            f"Nova's flavor extra specs: at most {MAX_EXTRA_SPECS} keys, each key and value "
            f"at most {MAX_EXTRA_SPEC_TEXT} characters; values are strings, numbers or booleans"
        ),
        json_schema_extra={
            "maxProperties": MAX_EXTRA_SPECS,
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": MAX_EXTRA_SPEC_TEXT},
                    {"type": "number"},
                    {"type": "boolean"},
                ]
            },
        },
    ),
]


class FlavorBody(Body):
    WHERE = "server.flavor"

    vcpus: Amount
    memory_mb: Amount
    extra_specs: ExtraSpecs = Field(default_factory=dict)


class ServerCreate(Body):
    WHERE = "server"

    name: NonEmptyName
    description: Description = ""
    flavor: FlavorBody
    ports: Annotated[list[NonEmptyName], Field(max_length=MAX_SERVER_PORTS)] = Field(
        default_factory=list
    )
