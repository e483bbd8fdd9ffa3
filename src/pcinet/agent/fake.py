"""The ``fake`` VF driver: each VF's settings live in a small JSON file of the state
directory (``fake-vfs/<pf>.<index>.json``), for hosts without SR-IOV NICs, the demo and
tests.

A VF exists once ``ensure`` created it (the agent does so for the VFs it discovers), with
a fresh VF's settings or the ones given. ``fail`` (a reason) makes every later ``apply``
on that VF fail with that reason, as a device that refuses a setting would; ``fail(...,
None)`` heals it. The files are replaced atomically but not fsynced: like a NIC's
registers they outlive the agent's process, not the machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pcinet.agent.atomic import write_json
from pcinet.agent.driver import VfError, VfRef
from pcinet.core.vf import VfConfig, with_changes

DIRECTORY = "fake-vfs"


class FakeDriver:
    name = "fake"

    def __init__(self, state_dir: str | Path) -> None:
        self.root = Path(state_dir) / DIRECTORY
        self.root.mkdir(parents=True, exist_ok=True)
        self.applied = 0  # apply calls that changed something, for tests and the demo

    def _path(self, pf: str, vf_index: int) -> Path:
        return self.root / f"{pf}.{vf_index}.json"

    def _load(self, path: Path) -> dict[str, Any]:
        with open(path, encoding="utf-8") as src:
            data: dict[str, Any] = json.load(src)
        return data

    def ensure(self, vfs: Iterable[VfRef], config: VfConfig | None = None) -> int:
        """Create the VFs that do not exist yet; how many were created."""
        created = 0
        for vf in vfs:
            path = self._path(vf.pf, vf.vf_index)
            if not path.exists():
                start = (config or VfConfig()).to_dict()
                write_json(path, {"address": vf.address, "config": start}, durable=False)
                created += 1
        return created

    def remove(self, vf: VfRef) -> None:
        """The VF is gone (e.g. ``sriov_numvfs`` lowered)."""
        self._path(vf.pf, vf.vf_index).unlink(missing_ok=True)

    def fail(self, vf: VfRef, reason: str | None) -> None:
        path = self._path(vf.pf, vf.vf_index)
        data = self._load(path)
        data["fail"] = reason
        write_json(path, data, durable=False)

    def read_pf(self, pf: str) -> dict[int, VfConfig]:
        out: dict[int, VfConfig] = {}
        prefix = f"{pf}."
        with os.scandir(self.root) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(prefix) and name.endswith(".json")):
                    continue
                index = name[len(prefix) : -len(".json")]
                if index.isdigit():
                    data = self._load(Path(entry.path))
                    out[int(index)] = VfConfig.from_dict(data["config"], f"{entry.path}.config")
        if not out:
            raise VfError(f"no PF {pf} (no fake VF of it in {self.root})")
        return out

    def read_all(self) -> dict[tuple[str, int], tuple[str, VfConfig]]:
        """Every fake VF: (pf, index) -> (address, settings)."""
        out: dict[tuple[str, int], tuple[str, VfConfig]] = {}
        for path in sorted(self.root.glob("*.json")):
            pf, _, index = path.stem.rpartition(".")
            data = self._load(path)
            config = VfConfig.from_dict(data["config"], f"{path}.config")
            out[(pf, int(index))] = (str(data["address"]), config)
        return out

    def apply(self, vf: VfRef, groups: Mapping[str, Mapping[str, Any]]) -> None:
        path = self._path(vf.pf, vf.vf_index)
        try:
            data = self._load(path)
        except FileNotFoundError:
            raise VfError(f"{vf}: no such VF on {vf.pf}") from None
        reason = data.get("fail")
        if reason:
            group = next(iter(groups), "settings")
            raise VfError(f"{vf}: setting {group}: {reason}")
        config = VfConfig.from_dict(data["config"])
        data["config"] = with_changes(config, groups).to_dict()
        write_json(path, data, durable=False)
        self.applied += 1

    def close(self) -> None:
        pass
