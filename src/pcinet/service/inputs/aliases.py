"""``PUT /v1/pci/aliases``: Nova's ``[pci] alias`` entries (the core checks each)."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, RootModel

from pcinet.service.inputs.hosts import JsonObject
from pcinet.service.inputs.limits import MAX_ALIASES


class Aliases(RootModel[Annotated[list[JsonObject], Field(max_length=MAX_ALIASES)]]):
    """The whole list of aliases."""

    model_config = ConfigDict(strict=True)
    WHERE: ClassVar[str] = "aliases"
