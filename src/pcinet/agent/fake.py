"""The ``fake`` VF driver: each PF's VFs live in a small log of the state directory
(``fake-vfs/<pf>.jsonl``), for hosts without SR-IOV NICs, the demo and tests.

Every change appends one JSON line ``{"vf", "address", "config", "fail"}`` (the last line
of a VF wins); the log is rewritten atomically when it grows past a few lines per VF. Like
a NIC's registers, a change outlives the agent's process the moment ``apply`` returns (it
is in the kernel's page cache), not the machine (no fsync). Appending keeps ``apply`` at
tens of microseconds where replacing a file costs milliseconds on some filesystems.

A VF exists once ``ensure`` created it (the agent does so for the VFs it discovers), with a
fresh VF's settings or the ones given. ``fail`` (a reason) makes every later ``apply`` on
that VF fail with that reason, as a device that refuses a setting would; ``fail(...,
None)`` heals it. ``remove`` takes a VF away (``sriov_numvfs`` lowered).

For crash tests, ``PCINET_FAKE_CRASH_AFTER=N`` in the environment makes the process kill
itself with SIGKILL right after its N-th change: an agent dies in the middle of a pass, at
a point the test chooses, with nothing cleaned up.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pcinet.agent.atomic import write_lines
from pcinet.agent.driver import VfError, VfRef
from pcinet.core.errors import InvalidInput
from pcinet.core.vf import VfConfig, with_changes

DIRECTORY = "fake-vfs"
SUFFIX = ".jsonl"
CRASH_ENV = "PCINET_FAKE_CRASH_AFTER"


class FakeDriver:
    name = "fake"

    def __init__(self, state_dir: str | Path) -> None:
        self.root = Path(state_dir) / DIRECTORY
        self.root.mkdir(parents=True, exist_ok=True)
        self.applied = 0  # apply calls that changed something, for tests and the demo
        crash = os.environ.get(CRASH_ENV)
        self._kill_after = int(crash) if crash and crash.isdigit() else None
        self._seen: dict[str, tuple[tuple[int, int, int], dict[int, dict[str, Any]], int]] = {}

    def _log(self, pf: str) -> Path:
        return self.root / f"{pf}{SUFFIX}"

    def _entries(self, pf: str) -> tuple[dict[int, dict[str, Any]], int]:
        """The PF's VFs (index -> last entry) and the number of lines of its log; read
        again only when the log changed since this driver last read or wrote it."""
        try:
            stat = os.stat(self._log(pf))
        except FileNotFoundError:
            return {}, 0
        seen = self._seen.get(pf)
        if seen is not None and seen[0] == (stat.st_size, stat.st_mtime_ns, stat.st_ino):
            return dict(seen[1]), seen[2]
        entries, lines = self._parse(pf)
        self._seen[pf] = ((stat.st_size, stat.st_mtime_ns, stat.st_ino), entries, lines)
        return dict(entries), lines

    def _parse(self, pf: str) -> tuple[dict[int, dict[str, Any]], int]:
        entries: dict[int, dict[str, Any]] = {}
        lines = 0
        try:
            with open(self._log(pf), encoding="utf-8") as src:
                for lines, line in enumerate(src, 1):
                    if not line.endswith("\n"):
                        break  # a line cut by a crash: never acknowledged, ignored
                    try:
                        entry = json.loads(line)
                    except ValueError:
                        raise InvalidInput(
                            f"{self._log(pf)}:{lines}: not a fake VF entry"
                        ) from None
                    if entry.get("removed"):
                        entries.pop(int(entry["vf"]), None)
                    else:
                        entries[int(entry["vf"])] = entry
        except FileNotFoundError:
            pass
        return entries, lines

    def _append(self, pf: str, entries: Iterable[Mapping[str, Any]]) -> None:
        self._seen.pop(pf, None)
        text = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in entries)
        with open(self._log(pf), "a", encoding="utf-8") as out:
            out.write(text)

    def _compact(self, pf: str, entries: dict[int, dict[str, Any]], lines: int) -> None:
        if lines > 4 * len(entries) + 64:
            ordered = [entries[i] for i in sorted(entries)]
            write_lines(
                self._log(pf),
                [json.dumps(e, separators=(",", ":")) for e in ordered],
                durable=False,
            )
            lines = len(ordered)
        self._remember(pf, entries, lines)

    def _remember(self, pf: str, entries: dict[int, dict[str, Any]], lines: int) -> None:
        """What this driver just wrote is what the log holds (no need to read it back)."""
        stat = os.stat(self._log(pf))
        self._seen[pf] = ((stat.st_size, stat.st_mtime_ns, stat.st_ino), dict(entries), lines)

    def ensure(self, vfs: Iterable[VfRef], config: VfConfig | None = None) -> int:
        """Create the VFs that do not exist yet; how many were created."""
        by_pf: dict[str, list[VfRef]] = {}
        for vf in vfs:
            by_pf.setdefault(vf.pf, []).append(vf)
        created = 0
        for pf, refs in by_pf.items():
            entries, _ = self._entries(pf)
            start = (config or VfConfig()).to_dict()
            new = [
                {"vf": r.vf_index, "address": r.address, "config": start, "fail": None}
                for r in refs
                if r.vf_index not in entries
            ]
            if new:
                self._append(pf, new)
                created += len(new)
        return created

    def remove(self, vf: VfRef) -> None:
        """The VF is gone (e.g. ``sriov_numvfs`` lowered)."""
        self._append(vf.pf, [{"vf": vf.vf_index, "removed": True}])

    def fail(self, vf: VfRef, reason: str | None) -> None:
        entry = self._entry(vf)
        self._append(vf.pf, [{**entry, "fail": reason}])

    def _entry(self, vf: VfRef) -> dict[str, Any]:
        entry = self._entries(vf.pf)[0].get(vf.vf_index)
        if entry is None:
            raise VfError(f"{vf}: no such VF on {vf.pf}")
        return entry

    def read_pf(self, pf: str) -> dict[int, VfConfig]:
        entries, _ = self._entries(pf)
        if not entries:
            raise VfError(f"no PF {pf} (no fake VF of it in {self.root})")
        where = str(self._log(pf))
        return {i: VfConfig.from_dict(e["config"], where) for i, e in entries.items()}

    def read_all(self) -> dict[tuple[str, int], tuple[str, VfConfig]]:
        """Every fake VF: (pf, index) -> (address, settings)."""
        out: dict[tuple[str, int], tuple[str, VfConfig]] = {}
        for path in sorted(self.root.glob(f"*{SUFFIX}")):
            pf = path.name[: -len(SUFFIX)]
            for index, entry in sorted(self._entries(pf)[0].items()):
                config = VfConfig.from_dict(entry["config"], str(path))
                out[(pf, index)] = (str(entry["address"]), config)
        return out

    def apply(self, vf: VfRef, groups: Mapping[str, Mapping[str, Any]]) -> None:
        entries, lines = self._entries(vf.pf)
        entry = entries.get(vf.vf_index)
        if entry is None:
            raise VfError(f"{vf}: no such VF on {vf.pf}")
        reason = entry.get("fail")
        if reason:
            group = next(iter(groups), "settings")
            raise VfError(f"{vf}: setting {group}: {reason}")
        config = with_changes(VfConfig.from_dict(entry["config"]), groups)
        entry = {**entry, "config": config.to_dict()}
        self._append(vf.pf, [entry])
        entries[vf.vf_index] = entry
        self._compact(vf.pf, entries, lines + 1)
        self.applied += 1
        if self._kill_after is not None and self.applied >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)

    def close(self) -> None:
        pass
