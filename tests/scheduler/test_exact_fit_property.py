"""Property: on random small hosts and requests the scheduler agrees with a brute-force
oracle, and every assignment it returns satisfies every constraint."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DeviceStatus, DevType, Inventory, PciDevice
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, Snapshot, decide
from tests.scheduler.oracle import device_ok, feasible, valid_together

# Biased towards phy1 so that requests compete for the same devices.
PHYSNETS: list[Any] = ["phy1", "phy1", "phy2", None, "<absent>"]
PRODUCTS = [("8086", "154c"), ("8086", "1572"), ("10de", "20b5")]


@st.composite
def hosts(draw: st.DrawFn) -> Host:
    devices: list[PciDevice] = []
    n_pf = draw(st.integers(1, 2))
    for p in range(n_pf):
        pf_addr = f"0000:0{p + 1}:00.0"
        physnet = draw(st.sampled_from(PHYSNETS))
        numa = draw(st.sampled_from([0, 1, None]))
        tags = {} if physnet == "<absent>" else {"physical_network": physnet}
        pf_alloc = draw(st.booleans()) and draw(st.booleans())
        devices.append(
            PciDevice(
                pf_addr,
                "8086",
                "1572",
                DevType.PF,
                numa_node=numa,
                tags=tags,
                status=DeviceStatus.ALLOCATED if pf_alloc else DeviceStatus.AVAILABLE,
            )
        )
        for v in range(draw(st.integers(0, 4))):
            vf_tags = dict(tags)
            if draw(st.booleans()):
                vf_tags["trusted"] = "true"
            alloc = not pf_alloc and draw(st.integers(0, 7)) == 0
            devices.append(
                PciDevice(
                    f"0000:0{p + 1}:10.{v}",
                    "8086",
                    "154c",
                    DevType.VF,
                    parent_address=pf_addr,
                    numa_node=numa,
                    tags=vf_tags,
                    status=DeviceStatus.ALLOCATED if alloc else DeviceStatus.AVAILABLE,
                )
            )
    for g in range(draw(st.integers(0, 2))):
        vendor, product = draw(st.sampled_from(PRODUCTS))
        physnet = draw(st.sampled_from(PHYSNETS))
        devices.append(
            PciDevice(
                f"0000:3{g}:00.0",
                vendor,
                product,
                DevType.PCI,
                numa_node=draw(st.sampled_from([0, 1, None])),
                tags={} if physnet == "<absent>" else {"physical_network": physnet},
            )
        )
    cells: tuple[HostCell, ...] = ()
    if draw(st.booleans()):
        cells = (
            HostCell(0, draw(st.integers(0, 4)), 4096, socket=0),
            HostCell(1, draw(st.integers(0, 4)), 4096, socket=draw(st.sampled_from([0, 1]))),
        )
    return Host("h", vcpus=8, memory_mb=8192, cells=cells, devices=tuple(devices))


@st.composite
def requests(draw: st.DrawFn, host: Host) -> PlacementRequest:
    """Requests shaped after the host's own devices, so that they compete for them."""
    physnet_pool: list[Any] = [
        d.tags["physical_network"] for d in host.devices if "physical_network" in d.tags
    ] or ["phy1"]
    pci = []
    for i in range(draw(st.integers(1, 3))):
        policy = draw(st.sampled_from(list(NumaPolicy)))
        if draw(st.integers(0, 2)):
            physnets = frozenset(
                draw(st.lists(st.sampled_from(physnet_pool), min_size=1, max_size=2))
            )
            types = draw(
                st.sampled_from(
                    [frozenset({DevType.VF, DevType.PCI})] * 3 + [frozenset({DevType.PF})]
                )
            )
            trusted = True if draw(st.booleans()) else None
            matcher = DeviceMatcher(types, physnets=physnets, trusted=trusted)
            pci.append(PciRequest(RequestKind.PORT, str(i), 1, (matcher,), policy))
        else:
            vendor, product = draw(st.sampled_from([("8086", "154c"), *PRODUCTS, (None, None)]))
            types = draw(
                st.sampled_from(
                    [
                        frozenset({DevType.VF, DevType.PCI}),
                        frozenset({DevType.PF}),
                        frozenset({DevType.PCI}),
                    ]
                )
            )
            matcher = DeviceMatcher(types, vendor_id=vendor, product_id=product)
            count = draw(st.sampled_from([1, 1, 2]))
            pci.append(PciRequest(RequestKind.ALIAS, "a", count, (matcher,), policy))
    guest: tuple[GuestCell, ...] = ()
    if draw(st.integers(0, 2)) == 0:
        guest = tuple(GuestCell(i, 2, 1024) for i in range(draw(st.integers(1, 2))))
    return PlacementRequest(vcpus=2, memory_mb=2048, pci=tuple(pci), guest_cells=guest)


cases = hosts().flatmap(lambda h: st.tuples(st.just(h), requests(h)))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases, seed=st.integers(0, 2**32))
def test_exact_fit_agrees_with_oracle(case: tuple[Host, PlacementRequest], seed: int) -> None:
    host, req = case
    decision = decide(Snapshot([host]), req, seed=seed, exhaustive=True)
    expected = feasible(host, req)
    assert (decision.placement is not None) == expected, decision.rejected
    if decision.placement is None:
        assert set(decision.rejected) == {"h"}
        return
    placement = decision.placement
    by_addr = {d.address: d for d in host.devices}
    chosen = [by_addr[a] for d in placement.devices for a in d]
    assert len({d.address for d in chosen}) == len(chosen)
    inventory = Inventory(host.devices)
    assert all(inventory.is_free(d.address) for d in chosen)
    assert valid_together(chosen)
    for pci, addrs in zip(req.pci, placement.devices, strict=True):
        assert len(addrs) == pci.count
        assert all(device_ok(host, by_addr[a], pci, placement.cells) for a in addrs)
    if req.guest_cells:
        assert len(set(placement.cells)) == len(req.guest_cells)
        cells = {c.id: c for c in host.cells}
        for g, c in zip(req.guest_cells, placement.cells, strict=True):
            assert cells[c].vcpus >= g.vcpus and cells[c].memory_mb >= g.memory_mb
