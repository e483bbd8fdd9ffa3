"""PCI aliases (Nova's ``[pci] alias``), admin only, replaced as a whole list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pcinet.core.alias import parse_aliases
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.inputs.aliases import Aliases
from pcinet.service.inputs.base import parse
from pcinet.store import aliases as store_aliases


def put(ctl: Controller, caller: Caller, body: Aliases | Any) -> list[dict[str, Any]]:
    caller.require("admin", action="setting PCI aliases")
    specs: list[Mapping[str, Any]] = list(parse(Aliases, body).root)
    parse_aliases(specs, where="aliases")  # every error names aliases[i].<property>
    with ctl.unit() as session:
        store_aliases.replace_aliases(session, specs)
        return store_aliases.list_aliases(session)


def get(ctl: Controller, caller: Caller) -> list[dict[str, Any]]:
    caller.require("admin", action="reading PCI aliases")
    with ctl.unit(readonly=True) as session:
        return store_aliases.list_aliases(session)
