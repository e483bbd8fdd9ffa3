"""``pcinet agent vfs``: the VFs as the driver reads them back, with their owning port."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pcinet.agent.driver import VfRef
from pcinet.agent.fake import FakeDriver
from pcinet.agent.reconcile import Desired, reconcile
from pcinet.agent.state import AgentState
from pcinet.cli.main import app

runner = CliRunner()
VFS = [VfRef(f"0000:3b:02.{i}", "ens1f0", i) for i in range(2)]
KEYS = [
    "address",
    "pf",
    "vf_index",
    "vlan",
    "qos",
    "proto",
    "mac",
    "spoofchk",
    "trust",
    "link_state",
    "min_tx_rate",
    "max_tx_rate",
    "port_id",
]


def test_the_vfs_as_programmed_with_their_port(tmp_path: Path) -> None:
    driver = FakeDriver(tmp_path)
    driver.ensure(VFS)
    state = AgentState.load(tmp_path)
    state.vfs, state.driver = {v.address: v for v in VFS}, "fake"
    row = {
        "pci_address": VFS[1].address,
        "port_id": "p1",
        "action": "apply",
        "generation": 1,
        "desired": {
            "vlan": 7,
            "qos": 1,
            "proto": "802.1ad",
            "mac": "fa:16:3e:00:00:07",
            "trust": True,
            "max_tx_rate": 500,
        },
    }
    reconcile(driver, state, [Desired.from_feed(row)])
    result = runner.invoke(app, ["agent", "vfs", "--state-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    vfs = json.loads(result.output)["vfs"]
    assert [list(v) for v in vfs] == [KEYS, KEYS]
    assert vfs[0]["port_id"] is None and vfs[0]["vlan"] == 0
    assert {k: vfs[1][k] for k in ("vlan", "qos", "proto", "mac", "trust", "max_tx_rate")} == {
        "vlan": 7,
        "qos": 1,
        "proto": "802.1ad",
        "mac": "fa:16:3e:00:00:07",
        "trust": True,
        "max_tx_rate": 500,
    }
    assert vfs[1]["port_id"] == "p1" and vfs[1]["pf"] == "ens1f0" and vfs[1]["vf_index"] == 1
    table = runner.invoke(app, ["agent", "vfs", "--state-dir", str(tmp_path)])
    assert table.exit_code == 0 and "fa:16:3e:00:00:07" in table.output


def test_no_state_and_a_bad_driver_are_invalid_input(tmp_path: Path) -> None:
    empty = runner.invoke(app, ["agent", "vfs", "--state-dir", str(tmp_path / "none")])
    assert empty.exit_code == 2 and "holds no agent state" in empty.output
    assert not (tmp_path / "none").exists()
    bad = runner.invoke(app, ["agent", "vfs", "--state-dir", str(tmp_path), "--vf-driver", "x"])
    assert bad.exit_code == 2 and "--vf-driver" in bad.output
