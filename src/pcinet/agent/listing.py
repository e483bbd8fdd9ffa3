"""What ``pcinet agent vfs`` prints: every VF of the host as the driver reads it back, with
the port that owns it (from the agent's state file)."""

from __future__ import annotations

from typing import Any

from pcinet.agent.driver import VfDriver, VfError
from pcinet.agent.state import RESTORED, AgentState
from pcinet.core.vf import VfConfig


def list_vfs(driver: VfDriver, state: AgentState) -> tuple[list[dict[str, Any]], list[str]]:
    """The VFs of ``state.vfs`` in address order (``{"address", "pf", "vf_index", <every
    setting>, "port_id"}``), and the problems met (a PF that cannot be read, a VF gone)."""
    problems: list[str] = []
    read: dict[str, dict[int, VfConfig]] = {}
    for pf in sorted({r.pf for r in state.vfs.values()}):
        try:
            read[pf] = driver.read_pf(pf)
        except VfError as exc:
            problems.append(exc.message)
    out: list[dict[str, Any]] = []
    for address, ref in sorted(state.vfs.items()):
        config = read.get(ref.pf, {}).get(ref.vf_index)
        if config is None:
            if ref.pf in read:
                problems.append(f"{ref}: the PF has no such VF")
            continue
        owned = state.owned.get(address)
        port = owned.port_id if owned is not None and owned.status != RESTORED else None
        out.append(
            {
                "address": address,
                "pf": ref.pf,
                "vf_index": ref.vf_index,
                **config.to_dict(),
                "port_id": port,
            }
        )
    return out, problems
