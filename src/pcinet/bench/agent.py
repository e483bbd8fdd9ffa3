"""``pcinet bench agent``: reconcile passes on a host with many VFs (the fake driver in a
temporary state directory), timed from the desired state to the state file saved.

The passes, in order: ``first`` programs every VF (originals saved, then VLAN, MAC, trust,
rate applied), ``steady`` finds nothing to do (the agent's every pass once programmed;
``steady_passes`` of them, median and max), ``change`` changes every VF's VLAN, ``restore``
restores every VF after its release. Each pass reads every PF back twice (before and
after changes), as on a real host.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from pcinet.agent.driver import VfRef
from pcinet.agent.fake import FakeDriver
from pcinet.agent.reconcile import Desired, reconcile
from pcinet.agent.state import AgentState
from pcinet.core.vf import VfConfig

VFS_PER_PF = 64


def _rows(vfs: list[VfRef], *, vlan_base: int, generation: int, action: str) -> list[Desired]:
    rows = []
    for i, vf in enumerate(vfs):
        desired = VfConfig(
            vlan=vlan_base + i % 3000,
            mac=f"fa:16:3e:00:{i >> 8:02x}:{i & 0xFF:02x}",
            trust=i % 2 == 0,
            link_state="enable",
            max_tx_rate=1000,
        )
        rows.append(
            Desired(
                vf.address,
                f"port-{i}",
                action,
                desired if action == "apply" else VfConfig(),
                generation,
                applied_generation=generation,
                reported_status="applied" if action == "apply" else "restored",
            )
        )
    return rows


def _timed(driver: FakeDriver, state: AgentState, rows: list[Desired]) -> tuple[float, int]:
    started = time.perf_counter()
    result = reconcile(driver, state, rows)
    return (time.perf_counter() - started) * 1000, len(result.changed)


def run_agent_bench(vfs: int = 256, steady_passes: int = 20) -> dict[str, Any]:
    """Time the passes (see the module's docstring); milliseconds."""
    with tempfile.TemporaryDirectory(prefix="pcinet-bench-agent-") as directory:
        refs = [
            VfRef(
                f"0000:{0x3B + i // VFS_PER_PF:02x}:{2 + (i % VFS_PER_PF) // 8:02x}.{i % 8}",
                f"ens{i // VFS_PER_PF}f0",
                i % VFS_PER_PF,
            )
            for i in range(vfs)
        ]
        driver = FakeDriver(directory)
        driver.ensure(refs)
        state = AgentState.load(directory)
        state.vfs = {r.address: r for r in refs}
        state.driver = "fake"
        state.save()
        first, first_changed = _timed(
            driver, state, _rows(refs, vlan_base=100, generation=1, action="apply")
        )
        same = _rows(refs, vlan_base=100, generation=1, action="apply")
        steady = [_timed(driver, state, same) for _ in range(steady_passes)]
        change, change_changed = _timed(
            driver, state, _rows(refs, vlan_base=1000, generation=2, action="apply")
        )
        restore, restore_changed = _timed(
            driver, state, _rows(refs, vlan_base=0, generation=3, action="restore")
        )
        times = [t for t, _ in steady]
        return {
            "vfs": vfs,
            "pfs": len({r.pf for r in refs}),
            "driver": "fake",
            "first_pass_ms": round(first, 2),
            "first_pass_changed": first_changed,
            "steady_pass_ms_p50": round(statistics.median(times), 2),
            "steady_pass_ms_max": round(max(times), 2),
            "steady_pass_changed": max(c for _, c in steady),
            "change_pass_ms": round(change, 2),
            "change_pass_changed": change_changed,
            "restore_pass_ms": round(restore, 2),
            "restore_pass_changed": restore_changed,
            "state_writes": state.writes,
            "goal_ms": 50,
        }
