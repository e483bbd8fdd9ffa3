"""Reconcile on the fake driver: apply, change, release and restore, a restart in the
middle, a failing VF, VFs that appear later, a device that does not take a setting."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pcinet.agent.driver import VfRef
from pcinet.agent.fake import FakeDriver
from pcinet.agent.reconcile import Desired, PassResult, reconcile
from pcinet.agent.state import RESTORED, AgentState
from pcinet.core.vf import VfConfig

PF = "ens1f0"
VFS = [VfRef(f"0000:3b:02.{i}", PF, i) for i in range(4)]
FACTORY = VfConfig(mac="02:11:22:33:44:00", spoofchk=True, trust=False)
DESIRED = {
    "vlan": 101,
    "mac": "fa:16:3e:00:00:01",
    "spoofchk": True,
    "trust": True,
    "link_state": "enable",
    "min_tx_rate": None,
    "max_tx_rate": 1000,
}


class Recording(FakeDriver):
    """The fake, remembering every group it was asked to program (and optionally dying
    after ``crash_after`` applies, as a killed agent would)."""

    def __init__(self, state_dir: Path, crash_after: int | None = None) -> None:
        super().__init__(state_dir)
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.crash_after = crash_after

    def apply(self, vf: VfRef, groups: Mapping[str, Mapping[str, Any]]) -> None:
        if self.crash_after is not None and len(self.calls) >= self.crash_after:
            raise KeyboardInterrupt("killed")
        super().apply(vf, groups)
        self.calls.append((vf.address, tuple(groups)))


class Controller:
    """The feed's rows for one host, acknowledging reports as the real controller does."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.originals: dict[str, dict[str, Any]] = {}

    def want(self, vf: VfRef, port: str, **changes: Any) -> None:
        row = self.rows.get(vf.address)
        generation = row["generation"] + 1 if row else 1
        self.rows[vf.address] = {
            "pci_address": vf.address,
            "port_id": port,
            "action": "apply",
            "desired": {**DESIRED, **changes},
            "generation": generation,
            "applied_generation": None,
            "reported_status": None,
            "reported_error": None,
        }

    def release(self, vf: VfRef) -> None:
        row = self.rows[vf.address]
        row.update(
            action="restore",
            desired=self.originals.get(vf.address, {}),
            generation=row["generation"] + 1,
            applied_generation=None,
            reported_status=None,
        )

    def feed(self) -> list[Desired]:
        return [Desired.from_feed(r) for r in self.rows.values()]

    def take(self, result: PassResult) -> None:
        for report in result.reports:
            row = self.rows[report.address]
            if report.generation != row["generation"]:
                continue
            if report.original is not None:
                self.originals.setdefault(report.address, report.original.to_dict())
            if report.status == "restored" and row["action"] == "restore":
                del self.rows[report.address]
                continue
            row.update(
                applied_generation=report.generation,
                reported_status=report.status,
                reported_error=report.error,
            )


@pytest.fixture
def host(tmp_path: Path) -> tuple[Recording, AgentState]:
    driver = Recording(tmp_path)
    driver.ensure(VFS, FACTORY)
    state = AgentState.load(tmp_path)
    state.vfs = {v.address: v for v in VFS}
    return driver, state


def run(driver: FakeDriver, state: AgentState, ctl: Controller) -> PassResult:
    result = reconcile(driver, state, ctl.feed())
    ctl.take(result)
    return result


def actual(driver: FakeDriver, vf: VfRef) -> VfConfig:
    return driver.read_pf(vf.pf)[vf.vf_index]


def test_apply_programs_the_vf_saves_the_original_and_reports_once(
    host: tuple[Recording, AgentState],
) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[1], "p1")
    first = run(driver, state, ctl)
    assert actual(driver, VFS[1]) == VfConfig(
        vlan=101, mac="fa:16:3e:00:00:01", trust=True, link_state="enable", max_tx_rate=1000
    )
    assert actual(driver, VFS[0]) == FACTORY  # untouched
    (report,) = first.reports
    assert (report.address, report.status, report.generation) == (VFS[1].address, "applied", 1)
    assert report.original == FACTORY
    assert AgentState.load(state.path.parent).owned[VFS[1].address].original == FACTORY
    again = run(driver, state, ctl)
    assert again.reports == [] and again.changed == []
    assert len(driver.calls) == 1


def test_a_change_programs_only_the_difference(host: tuple[Recording, AgentState]) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[0], "p1")
    run(driver, state, ctl)
    ctl.want(VFS[0], "p1", vlan=202)
    result = run(driver, state, ctl)
    assert driver.calls[-1] == (VFS[0].address, ("vlan",))
    assert [(r.status, r.generation) for r in result.reports] == [("applied", 2)]
    assert actual(driver, VFS[0]).vlan == 202
    assert state.owned[VFS[0].address].original == FACTORY  # still the first original


def test_one_rate_change_sends_both_rates(host: tuple[Recording, AgentState]) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[0], "p1", min_tx_rate=100)
    run(driver, state, ctl)
    ctl.want(VFS[0], "p1", min_tx_rate=100, max_tx_rate=3000)
    run(driver, state, ctl)
    assert driver.calls[-1] == (VFS[0].address, ("rate",))
    got = actual(driver, VFS[0])
    assert (got.min_tx_rate, got.max_tx_rate) == (100, 3000)


def test_release_restores_the_original_exactly_once(host: tuple[Recording, AgentState]) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[2], "p1")
    run(driver, state, ctl)
    ctl.release(VFS[2])
    assert ctl.rows[VFS[2].address]["desired"] == FACTORY.to_dict()  # the controller kept it
    result = run(driver, state, ctl)
    assert [(r.address, r.status) for r in result.reports] == [(VFS[2].address, "restored")]
    assert actual(driver, VFS[2]) == FACTORY
    assert VFS[2].address not in ctl.rows
    assert result.dropped == []  # kept until the controller's feed stops listing it
    calls = len(driver.calls)
    later = run(driver, state, ctl)
    assert later.dropped == [VFS[2].address] and VFS[2].address not in state.owned
    assert run(driver, state, ctl).reports == []
    assert len(driver.calls) == calls


def test_a_lost_restore_report_does_not_restore_twice(host: tuple[Recording, AgentState]) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[0], "p1")
    run(driver, state, ctl)
    ctl.release(VFS[0])
    reconcile(driver, state, ctl.feed())  # restored, but the report never arrived
    calls = len(driver.calls)
    result = run(driver, state, ctl)
    assert [r.status for r in result.reports] == ["restored"]
    assert len(driver.calls) == calls
    assert actual(driver, VFS[0]) == FACTORY


def test_a_reinstalled_agent_restores_to_what_the_controller_kept(tmp_path: Path) -> None:
    driver = Recording(tmp_path / "old")
    driver.ensure(VFS, FACTORY)
    state = AgentState.load(tmp_path / "old")
    state.vfs = {v.address: v for v in VFS}
    ctl = Controller()
    ctl.want(VFS[3], "p1")
    run(driver, state, ctl)
    ctl.release(VFS[3])
    state.path.unlink()  # the agent's state is lost; the device keeps its settings
    fresh = AgentState.load(tmp_path / "old")
    fresh.vfs = {v.address: v for v in VFS}
    run(driver, fresh, ctl)
    assert actual(driver, VFS[3]) == FACTORY


def test_a_vf_the_controller_forgot_is_restored_and_dropped(
    host: tuple[Recording, AgentState],
) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[1], "p1")
    run(driver, state, ctl)
    ctl.rows.clear()  # e.g. the host was deleted and registered again
    result = run(driver, state, ctl)
    assert result.dropped == [VFS[1].address]
    assert actual(driver, VFS[1]) == FACTORY and state.owned == {}


def test_a_restart_in_the_middle_neither_forgets_nor_double_applies(tmp_path: Path) -> None:
    dying = Recording(tmp_path, crash_after=2)
    dying.ensure(VFS, FACTORY)
    state = AgentState.load(tmp_path)
    state.vfs = {v.address: v for v in VFS}
    ctl = Controller()
    for i, vf in enumerate(VFS):
        ctl.want(vf, f"p{i}", vlan=300 + i)
    with pytest.raises(KeyboardInterrupt):
        reconcile(dying, state, ctl.feed())
    assert len(dying.calls) == 2

    driver = Recording(tmp_path)  # a new process: state from the file, device as left
    restarted = AgentState.load(tmp_path)
    assert set(restarted.owned) == {v.address for v in VFS}  # originals saved up front
    result = run(driver, restarted, ctl)
    assert sorted(a for a, _ in driver.calls) == [VFS[2].address, VFS[3].address]
    assert {r.address for r in result.reports if r.status == "applied"} == {v.address for v in VFS}
    for i, vf in enumerate(VFS):
        assert actual(driver, vf).vlan == 300 + i
        assert restarted.owned[vf.address].original == FACTORY  # not the half-applied one
    for vf in VFS:
        ctl.release(vf)
    run(driver, restarted, ctl)
    assert all(actual(driver, vf) == FACTORY for vf in VFS)


def test_a_failing_vf_is_an_error_on_its_port_and_the_others_go_on(
    host: tuple[Recording, AgentState],
) -> None:
    driver, state = host
    driver.fail(VFS[1], "Operation not supported")
    ctl = Controller()
    for i, vf in enumerate(VFS):
        ctl.want(vf, f"p{i}")
    result = run(driver, state, ctl)
    statuses = {r.address: (r.status, r.port_id, r.error) for r in result.reports}
    assert statuses[VFS[1].address][:2] == ("error", "p1")
    assert "Operation not supported" in str(statuses[VFS[1].address][2])
    assert all(statuses[v.address][0] == "applied" for v in VFS if v is not VFS[1])
    assert run(driver, state, ctl).reports == []  # the same error is not reported again
    driver.fail(VFS[1], None)
    healed = run(driver, state, ctl)
    assert [(r.address, r.status) for r in healed.reports] == [(VFS[1].address, "applied")]


def test_vfs_that_appear_later_are_programmed_without_a_restart(
    host: tuple[Recording, AgentState],
) -> None:
    driver, state = host
    late = VfRef("0000:3b:02.4", PF, 4)
    ctl = Controller()
    ctl.want(late, "p9")
    first = run(driver, state, ctl)
    assert first.reports[0].status == "error"
    assert "not on this host" in str(first.reports[0].error)
    driver.ensure([late], FACTORY)  # sriov_numvfs raised; the next discovery sees it
    state.vfs[late.address] = late
    second = run(driver, state, ctl)
    assert [(r.status, r.error) for r in second.reports] == [("applied", None)]
    assert actual(driver, late).vlan == 101


def test_a_device_that_keeps_a_setting_is_an_error(host: tuple[Recording, AgentState]) -> None:
    class NoTrust(Recording):
        def apply(self, vf: VfRef, groups: Mapping[str, Mapping[str, Any]]) -> None:
            super().apply(vf, {g: s for g, s in groups.items() if g != "trust"})

    _driver, state = host
    stubborn = NoTrust(state.path.parent)
    ctl = Controller()
    ctl.want(VFS[0], "p1")
    (report,) = run(stubborn, state, ctl).reports
    assert report.status == "error"
    assert "the device kept trust=False (wanted True)" in str(report.error)


def test_restored_entries_are_marked_in_the_state_file(
    host: tuple[Recording, AgentState],
) -> None:
    driver, state = host
    ctl = Controller()
    ctl.want(VFS[0], "p1")
    run(driver, state, ctl)
    ctl.release(VFS[0])
    run(driver, state, ctl)
    assert AgentState.load(state.path.parent).owned[VFS[0].address].status == RESTORED
