"""The false negatives and false positives measured in Nova (reference §4), as regressions
named after the bug. Each builds one host and asserts the exact fit gets it right."""

from __future__ import annotations

from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, Snapshot, decide

VF_OR_PCI = frozenset({DevType.VF, DevType.PCI})
PF = "0000:0a:00.0"


def pf(address: str = PF, physnet: str = "phy1", numa: int | None = 0) -> PciDevice:
    return PciDevice(
        address, "8086", "1572", DevType.PF, numa_node=numa, tags={"physical_network": physnet}
    )


def vf(address: str, parent: str = PF, numa: int | None = 0, **tags: object) -> PciDevice:
    return PciDevice(
        address,
        "8086",
        "154c",
        DevType.VF,
        parent_address=parent,
        numa_node=numa,
        tags={"physical_network": "phy1", **tags},
    )


def port(
    i: int,
    *,
    trusted: bool | None = None,
    types: frozenset[DevType] = VF_OR_PCI,
    policy: NumaPolicy = NumaPolicy.LEGACY,
) -> PciRequest:
    matcher = DeviceMatcher(types, physnets=frozenset({"phy1"}), trusted=trusted)
    return PciRequest(RequestKind.PORT, str(i), 1, (matcher,), policy)


def place(
    host: Host, *pci: PciRequest, cells: tuple[GuestCell, ...] = ()
) -> list[list[str]] | None:
    decision = decide(Snapshot([host]), PlacementRequest(1, 512, pci, cells), exhaustive=True)
    if decision.placement is None:
        return None
    return [list(d) for d in decision.placement.devices]


def test_untrusted_then_trusted_port_fits_whatever_the_order() -> None:
    # Trusted VF listed first: a greedy pass in request order gives it to the untrusted port.
    host = Host("h", 8, 8192, devices=(vf("0000:0a:10.0", trusted="true"), vf("0000:0a:10.1")))
    for order in ((port(0), port(1, trusted=True)), (port(0, trusted=True), port(1))):
        got = place(host, *order)
        assert got is not None
        trusted_slot = 1 if order[1].alternatives[0].trusted else 0
        assert got[trusted_slot] == ["0000:0a:10.0"]


def test_alias_does_not_take_the_only_vf_the_port_needs() -> None:
    other = PciDevice(
        "0000:0b:10.0",
        "8086",
        "154c",
        DevType.VF,
        parent_address="0000:0b:00.0",
        numa_node=0,
        tags={"physical_network": "phy2"},
    )
    host = Host("h", 8, 8192, devices=(vf("0000:0a:10.0"), other))
    alias = PciRequest(
        RequestKind.ALIAS,
        "nic",
        1,
        (DeviceMatcher(VF_OR_PCI, vendor_id="8086", product_id="154c"),),
    )
    assert place(host, alias, port(0)) == [["0000:0b:10.0"], ["0000:0a:10.0"]]


def test_whole_pf_and_one_of_its_vfs_is_no_valid_host() -> None:
    host = Host("h", 8, 8192, devices=(pf(), vf("0000:0a:10.0")))
    assert place(host, port(0, types=frozenset({DevType.PF})), port(1)) is None


def test_pf_is_taken_when_its_vfs_are_not_needed() -> None:
    other_pf = "0000:0b:00.0"
    host = Host(
        "h",
        8,
        8192,
        devices=(pf(), vf("0000:0a:10.0"), pf(other_pf), vf("0000:0b:10.0", parent=other_pf)),
    )
    got = place(host, port(0, types=frozenset({DevType.PF})), port(1))
    assert got is not None
    taken_pf, taken_vf = got[0][0], got[1][0]
    assert {taken_pf, taken_vf} in ({PF, "0000:0b:10.0"}, {other_pf, "0000:0a:10.0"})


def test_physnet_pf_on_the_guest_node_does_not_hide_local_vfs() -> None:
    # Nova counts the PF among NUMA-local devices before dropping PF pools.
    cells = (HostCell(0, 4, 4096, 0), HostCell(1, 4, 4096, 1))
    host = Host(
        "h",
        8,
        8192,
        cells=cells,
        devices=(pf(numa=0), vf("0000:0a:10.0", numa=0), vf("0000:0a:10.1", numa=1)),
    )
    got = place(host, port(0, policy=NumaPolicy.PREFERRED), cells=(GuestCell(0, 1, 512),))
    assert got == [["0000:0a:10.0"]]
