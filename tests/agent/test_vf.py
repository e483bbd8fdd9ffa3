"""VF settings: validation naming the field, the controller's desired state, the diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcinet.agent.state import AgentState
from pcinet.core.errors import InvalidInput
from pcinet.core.vf import VfConfig, changes, with_changes


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"vlan": 4096}, "desired.vlan"),
        ({"qos": 8}, "desired.qos"),
        ({"proto": "802.1x"}, "desired.proto"),
        ({"mac": "fa:16:3e"}, "desired.mac"),
        ({"link_state": "up"}, "desired.link_state"),
        ({"trust": "yes"}, "desired.trust"),
        ({"max_tx_rate": -1}, "desired.max_tx_rate"),
        ({"colour": "red"}, "desired.colour"),
    ],
)
def test_bad_settings_name_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as info:
        VfConfig.from_desired(values)
    assert info.value.field == field


def test_the_controllers_nulls_mean_none_and_defaults() -> None:
    got = VfConfig.from_desired(
        {"vlan": None, "mac": "FA:16:3E:00:00:0A", "min_tx_rate": None, "trust": None}
    )
    assert got == VfConfig(mac="fa:16:3e:00:00:0a")


def test_changes_then_with_changes_gives_the_wanted_settings() -> None:
    actual = VfConfig(vlan=5, trust=True)
    wanted = VfConfig(vlan=5, qos=2, mac="fa:16:3e:00:00:01", max_tx_rate=10)
    groups = changes(actual, wanted)
    assert set(groups) == {"vlan", "mac", "rate", "trust"}
    assert groups["vlan"] == {"vlan": 5, "qos": 2, "proto": "802.1Q"}
    assert with_changes(actual, groups) == wanted
    assert changes(wanted, wanted) == {}


def test_a_state_file_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    (tmp_path / "agent-state.json").write_text('{"version": 1, "vfs": []}')
    with pytest.raises(InvalidInput, match="malformed agent state file"):
        AgentState.load(tmp_path)
    (tmp_path / "agent-state.json").write_text("{")
    with pytest.raises(InvalidInput, match="not a readable agent state file"):
        AgentState.load(tmp_path)
