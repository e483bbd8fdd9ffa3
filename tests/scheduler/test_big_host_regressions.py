"""Regressions for the findings of issue 10 on big hosts, each named after what went wrong:
wrong refusals on many NUMA cells, unbounded searches, PF/VF rules on part of the
inventory, and ``preferred`` taking the first mapping instead of the most local one."""

from __future__ import annotations

import pytest

from pcinet.cloudfile import parse_cloud
from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, Snapshot, decide
from pcinet.scheduler.budget import HOST_STEPS, SEARCH_BUDGET, Budget, DecisionBudget
from pcinet.scheduler.filters import MatchCache, check_host
from pcinet.scheduler.numafit import cell_choices

VF_TYPES = frozenset({DevType.VF, DevType.PCI})
PF_TYPES = frozenset({DevType.PF})


def pf(n: int, physnet: str, numa: int | None = 0) -> PciDevice:
    return PciDevice(
        f"0000:{0x10 + n:02x}:00.0",
        "8086",
        "1593",
        DevType.PF,
        numa_node=numa,
        tags={"physical_network": physnet},
    )


def vfs(n: int, physnet: str, count: int, numa: int | None = 0) -> list[PciDevice]:
    return [
        PciDevice(
            f"0000:{0x10 + n:02x}:10.{v}",
            "8086",
            "1889",
            DevType.VF,
            parent_address=f"0000:{0x10 + n:02x}:00.0",
            numa_node=numa,
            tags={"physical_network": physnet},
        )
        for v in range(count)
    ]


def port(
    physnets: set[str], *, whole: bool = False, policy: NumaPolicy = NumaPolicy.LEGACY
) -> PciRequest:
    matcher = DeviceMatcher(PF_TYPES if whole else VF_TYPES, physnets=frozenset(physnets))
    return PciRequest(RequestKind.PORT, "0", 1, (matcher,), policy)


def alias(types: frozenset[DevType], count: int) -> PciRequest:
    return PciRequest(RequestKind.ALIAS, "a", count, (DeviceMatcher(types, "8086"),))


def cells(n: int, vcpus: int = 4) -> tuple[HostCell, ...]:
    return tuple(HostCell(c, vcpus, 8192, socket=c * 2 // n) for c in range(n))


def guest(k: int) -> tuple[GuestCell, ...]:
    return tuple(GuestCell(g, 1, 1024) for g in range(k))


def one_host(host: Host, *pci: PciRequest, numa: tuple[GuestCell, ...] = ()) -> object:
    return decide(Snapshot([host]), PlacementRequest(1, 1024, pci, numa), exhaustive=True)


def test_eight_cells_with_nics_on_cells_6_and_7_fit_a_two_cell_guest() -> None:
    """Only the first 24 cell mappings were tried, and the refusal named cells 0 and 1."""
    host = Host(
        "h",
        32,
        65536,
        cells=cells(8),
        devices=(*vfs(0, "phy1", 2, numa=6), *vfs(1, "phy2", 2, numa=7)),
    )
    decision = one_host(host, port({"phy1"}), port({"phy2"}), numa=guest(2))
    assert decision.placement is not None  # type: ignore[attr-defined]
    assert sorted(decision.placement.cells) == [6, 7]  # type: ignore[attr-defined]


def test_a_numa_refusal_names_where_the_devices_are_not_the_first_cells_tried() -> None:
    # cells 6 and 7 hold the NICs but have no free vCPU: the guest fits only elsewhere
    host = Host(
        "h",
        32,
        65536,
        cells=tuple(HostCell(c, 0 if c >= 6 else 4, 8192, socket=c // 4) for c in range(8)),
        devices=(*vfs(0, "phy1", 2, numa=6), *vfs(1, "phy2", 2, numa=7)),
    )
    request = (port({"phy1"}, policy=NumaPolicy.REQUIRED), port({"phy2"}))
    decision = one_host(host, *request, numa=guest(2))
    message = decision.rejected["h"]  # type: ignore[attr-defined]
    assert decision.codes == {"pci.numa": 1}  # type: ignore[attr-defined]
    assert "VF on physnet phy1" in message and "free ones are on cell(s) 6" in message
    assert "0, 1" not in message


def test_twelve_identical_cells_and_seven_guest_cells_is_one_mapping() -> None:
    """All permutations were built before the cap: 8 s and 452 MB for one host."""
    host = Host("h", 48, 98304, cells=cells(12), devices=(pf(0, "phy1", numa=3),))
    budget = Budget()
    choices = list(cell_choices(cells(12), guest(7), {3: ("nic",)}, frozenset(), budget))
    # with the NIC's cell, and without it (dominated, so not even yielded)
    assert [len(c.cells) for c in choices] == [7]
    assert 3 in choices[0].cells
    assert budget.spent < 5_000
    decision = one_host(host, port({"phy1"}, whole=True), numa=guest(7))
    assert decision.placement is not None  # type: ignore[attr-defined]
    assert 3 in decision.placement.cells  # type: ignore[attr-defined]


@pytest.mark.parametrize("via", ["aliases", "ports"])
def test_sixteen_pfs_of_one_vf_refuse_eight_pfs_and_nine_vfs_without_enumerating(via: str) -> None:
    """The branch over contested PFs took 23 s through aliases and 61 s through ports."""
    devices = [d for n in range(16) for d in (pf(n, "phy1"), *vfs(n, "phy1", 1))]
    host = Host("h", 32, 65536, devices=tuple(devices))
    if via == "aliases":
        refused = (alias(PF_TYPES, 8), alias(VF_TYPES, 9))
        fitting = (alias(PF_TYPES, 8), alias(VF_TYPES, 8))
    else:
        refused = (*[port({"phy1"}, whole=True)] * 8, *[port({"phy1"})] * 9)
        fitting = (*[port({"phy1"}, whole=True)] * 8, *[port({"phy1"})] * 8)
    request = PlacementRequest(1, 1024, refused)
    outcome = check_host(Snapshot([host]).hosts[0], request, MatchCache(request.pci))
    assert not hasattr(outcome, "devices")
    assert outcome.code == "pci.together"  # type: ignore[union-attr]
    assert "a PF and its VFs cannot be taken together" in outcome.message  # type: ignore[union-attr]
    decision = one_host(host, *fitting)
    placed = decision.placement  # type: ignore[attr-defined]
    assert placed is not None
    whole = {a for d in placed.devices for a in d if a.endswith(":00.0")}
    parents = {a[:7] for d in placed.devices for a in d if not a.endswith(":00.0")}
    assert len(whole) == 8 and not {a[:7] for a in whole} & parents


def hostile_request() -> tuple[PciRequest, ...]:
    whole = port({"phy1"}, whole=True, policy=NumaPolicy.REQUIRED)
    part = port({"phy1"}, policy=NumaPolicy.REQUIRED)
    return (*[whole] * 6, *[part] * 20)


def test_a_hostile_host_is_refused_by_its_budget_not_searched_forever() -> None:
    # 16 cells, each different (1 to 5 VFs), a guest of 8 cells, PFs and VFs contested
    devices = [d for n in range(16) for d in (pf(n, "phy1", n), *vfs(n, "phy1", n % 5 + 1, n))]
    host = Host("h", 64, 131072, cells=cells(16), devices=tuple(devices))
    request = hostile_request()
    decision = one_host(host, *request, numa=guest(8))
    assert decision.codes == {SEARCH_BUDGET: 1}  # type: ignore[attr-defined]
    assert f"budget of {HOST_STEPS:,} steps" in decision.rejected["h"]  # type: ignore[attr-defined]


def test_one_decision_spends_a_bounded_pool_over_all_its_hosts() -> None:
    """The controller decides under one lock: after the decision's pool is spent, further
    hosts needing a search are refused at once, naming why."""
    devices = [d for n in range(16) for d in (pf(n, "phy1", n), *vfs(n, "phy1", n % 5 + 1, n))]
    hosts = [
        Host(f"h{i:02d}", 64, 131072, cells=cells(16), devices=tuple(devices)) for i in range(12)
    ]
    pci = hostile_request()
    decision = decide(Snapshot(hosts), PlacementRequest(1, 1024, pci, guest(8)))
    assert decision.placement is None
    assert decision.codes == {SEARCH_BUDGET: 12}
    reasons = set(decision.groups)
    assert any("this decision spent its search budget" in r for r in reasons)
    cache = MatchCache(pci, budget=DecisionBudget(pool=0))
    outcome = check_host(
        Snapshot(hosts[:1]).hosts[0], PlacementRequest(1, 1024, pci, guest(8)), cache
    )
    assert "this decision spent" in outcome.message  # type: ignore[union-attr]


def test_a_count_of_a_million_is_refused_without_counting() -> None:
    host = Host("h", 8, 8192, devices=(pf(0, "phy1"), *vfs(0, "phy1", 4)))
    decision = one_host(host, alias(VF_TYPES, 10**6))
    assert decision.rejected == {"h": "only 4 free VF 8086:* (alias a), 1000000 needed"}  # type: ignore[attr-defined]


CLOUD = """
hosts:
  - name: h
    vcpus: 8
    memory_mb: 8192
    device_spec: [{{address: "{selects}", physical_network: phy1}}]
    devices:
      - {{address: "0000:0a:00.0", vendor_id: "8086", product_id: "1593", dev_type: type-PF,
         status: {pf_status}}}
      - {{address: "0000:0a:10.0", vendor_id: "8086", product_id: "1889", dev_type: type-VF,
         parent_address: "0000:0a:00.0", status: {vf_status}}}
      - {{address: "0000:0a:10.1", vendor_id: "8086", product_id: "1889", dev_type: type-VF,
         parent_address: "0000:0a:00.0"}}
"""


def _cloud_host(selects: str, pf_status: str, vf_status: str) -> Host:
    import yaml

    text = CLOUD.format(selects=selects, pf_status=pf_status, vf_status=vf_status)
    return parse_cloud(yaml.safe_load(text)).hosts[0]


def test_a_vf_is_not_handed_out_while_its_unselected_pf_is_allocated() -> None:
    host = _cloud_host("0000:0a:10.*", pf_status="allocated", vf_status="available")
    assert {d.address for d in host.devices} == {"0000:0a:10.0", "0000:0a:10.1"}
    decision = one_host(host, port({"phy1"}))
    assert decision.placement is None  # type: ignore[attr-defined]
    assert decision.rejected == {"h": "no free VF on physnet phy1"}  # type: ignore[attr-defined]


def test_a_pf_is_not_handed_out_while_one_of_its_unselected_vfs_is_allocated() -> None:
    # a wildcard spec does not select the PF's VFs (a concrete PF address would)
    host = _cloud_host("0000:0a:00.*", pf_status="available", vf_status="allocated")
    assert [d.address for d in host.devices] == ["0000:0a:00.0"]
    decision = one_host(host, port({"phy1"}, whole=True))
    assert decision.placement is None  # type: ignore[attr-defined]
    # and once that VF is free, the PF is handed out
    host = _cloud_host("0000:0a:00.*", pf_status="available", vf_status="available")
    assert one_host(host, port({"phy1"}, whole=True)).placement is not None  # type: ignore[attr-defined]


def test_preferred_takes_the_mapping_with_the_most_local_devices() -> None:
    """It took the first cell mapping that fitted (cell 0, whose device is remote)."""
    host = Host("h", 8, 16384, cells=cells(2), devices=tuple(vfs(0, "phy1", 1, numa=1)))
    decision = one_host(host, port({"phy1"}, policy=NumaPolicy.PREFERRED), numa=guest(1))
    assert decision.placement is not None  # type: ignore[attr-defined]
    assert decision.placement.cells == (1,)  # type: ignore[attr-defined]
