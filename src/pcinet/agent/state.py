"""The agent's durable state: which port owns which VF, and each VF's original settings.

One small JSON file, ``<state dir>/agent-state.json``, replaced atomically (temporary file,
fsync, rename, fsync of the directory) so that a crash leaves the previous version or the
new one. It holds:

- ``vfs``: the VFs the host has (address -> PF netdev and VF index), as last discovered, so
  ``pcinet agent vfs`` can read them back without the controller;
- ``owned``: per VF the agent changed, the port it programmed it for, the generation of the
  desired state it applied, and the settings the VF had before the agent's first change
  (``original``). An entry is written *before* the first change and is dropped only once
  the controller no longer asks anything of that VF, so a restarted agent neither forgets
  an original nor takes a half-programmed VF for one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pcinet.agent.atomic import write_json
from pcinet.agent.driver import VfRef
from pcinet.core.errors import InvalidInput
from pcinet.core.vf import VfConfig

FILE = "agent-state.json"
VERSION = 1
APPLIED = "applied"
RESTORED = "restored"
ERROR = "error"
PENDING = "pending"


@dataclass(slots=True)
class Owned:
    """A VF the agent changed. ``generation`` is the desired state's generation last applied
    (None before the first apply finished); ``status`` is ``pending`` until then, then
    ``applied``, ``error`` or ``restored``."""

    original: VfConfig
    port_id: str | None
    generation: int | None = None
    status: str = PENDING
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original.to_dict(),
            "port_id": self.port_id,
            "generation": self.generation,
            "status": self.status,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str) -> Owned:
        return cls(
            original=VfConfig.from_dict(data["original"], f"{where}.original"),
            port_id=data.get("port_id"),
            generation=data.get("generation"),
            status=str(data.get("status", PENDING)),
            error=data.get("error"),
        )


@dataclass(slots=True)
class AgentState:
    path: Path
    host: str | None = None
    driver: str | None = None
    vfs: dict[str, VfRef] = field(default_factory=dict)
    owned: dict[str, Owned] = field(default_factory=dict)
    writes: int = 0  # atomic writes done by this process, for tests and the benchmark

    @classmethod
    def load(cls, state_dir: str | Path, *, create: bool = True) -> AgentState:
        """The state of ``state_dir`` (created if missing and ``create``); a new, empty
        state when there is no file yet. A file that is not ours is InvalidInput naming it."""
        directory = Path(state_dir)
        if create:
            directory.mkdir(parents=True, exist_ok=True)
        path = directory / FILE
        state = cls(path)
        try:
            with open(path, encoding="utf-8") as src:
                data = json.load(src)
        except FileNotFoundError:
            return state
        except (OSError, ValueError) as exc:
            raise InvalidInput(f"{path}: not a readable agent state file: {exc}") from None
        try:
            if data.get("version") != VERSION:
                raise InvalidInput(f"{path}: version {data.get('version')!r}, expected {VERSION}")
            state.host, state.driver = data.get("host"), data.get("driver")
            state.vfs = {
                a: VfRef(a, str(v["pf"]), int(v["vf_index"])) for a, v in data["vfs"].items()
            }
            state.owned = {
                a: Owned.from_dict(o, f"{path}: owned.{a}") for a, o in data["owned"].items()
            }
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise InvalidInput(f"{path}: malformed agent state file: {exc!r}") from None
        return state

    def save(self) -> None:
        data = {
            "version": VERSION,
            "host": self.host,
            "driver": self.driver,
            "vfs": {a: {"pf": r.pf, "vf_index": r.vf_index} for a, r in sorted(self.vfs.items())},
            "owned": {a: o.to_dict() for a, o in sorted(self.owned.items())},
        }
        write_json(self.path, data)
        self.writes += 1
