"""Property: on hosts of up to 8 NUMA cells and 16 PFs, with contested PFs, devices no spec
selects, and every NUMA policy, the scheduler agrees with the brute-force oracle: it places
exactly when something fits, what it returns satisfies every constraint, and under
``preferred`` it uses as few devices off the guest's cells as any fitting answer."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, Phase, event, find, given, settings, target
from hypothesis import strategies as st

from pcinet.core.flavor import GuestCell
from pcinet.core.host import Host, HostCell
from pcinet.core.pci import DeviceStatus, DevType, PciDevice
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import PlacementRequest, Snapshot, decide
from pcinet.scheduler.budget import SEARCH_BUDGET
from tests.scheduler.oracle import (
    device_ok,
    far,
    free_devices,
    least_far,
    valid_together,
)

PHYSNETS = ["phy1", "phy2", "phy3"]
ALLOCATED = DeviceStatus.ALLOCATED
# How a PF or VF appears: selected by a spec or not, free or allocated.
ROLES = ["free", "free", "free", "allocated", "unselected", "unselected-allocated"]


def _device(
    address: str, dev_type: DevType, numa: int | None, physnet: str, **kw: Any
) -> PciDevice:
    product = {"type-PF": "1593", "type-VF": "1889"}[dev_type.value]
    tags = {"physical_network": physnet}
    if kw.pop("trusted", False):
        tags["trusted"] = "true"
    return PciDevice(address, "8086", product, dev_type, numa_node=numa, tags=tags, **kw)


@st.composite
def big_hosts(draw: st.DrawFn) -> Host:
    n_cells = draw(st.sampled_from([0, 1, 2, 4, 5, 6, 8, 8]))
    cells = tuple(
        HostCell(
            i,
            draw(st.sampled_from([1, 4, 4])),
            draw(st.sampled_from([1024, 4096, 4096])),
            socket=i * 2 // n_cells,
        )
        for i in range(n_cells)
    )
    nodes: list[int | None] = [*range(n_cells), None] if n_cells else [None, 0]
    # Identical PFs (same physnet, node and VFs) are the common real case and the one the
    # scheduler decides by class; varied ones test the general search.
    identical = draw(st.booleans())
    shared_numa = draw(st.sampled_from(nodes))
    shared_vfs = draw(st.integers(0, 3))
    devices: list[PciDevice] = []
    unselected: list[PciDevice] = []
    for p in range(draw(st.integers(1, 16))):
        physnet = "phy1" if identical else draw(st.sampled_from(PHYSNETS))
        numa = shared_numa if identical else draw(st.sampled_from(nodes))
        n_vf = shared_vfs if identical else draw(st.integers(0, 3))
        pf_addr = f"0000:{0x10 + p:02x}:00.0"
        role = "free" if identical else draw(st.sampled_from(ROLES))
        pf = _device(
            pf_addr, DevType.PF, numa, physnet, status=ALLOCATED if "allocated" in role else None
        )
        (unselected if role.startswith("unselected") else devices).append(pf)
        for v in range(n_vf):
            vf_role = "free" if identical else draw(st.sampled_from(ROLES))
            if "allocated" in role:  # a PF and one of its VFs are never both allocated
                vf_role = vf_role.replace("allocated", "").rstrip("-") or "free"
            vf = _device(
                f"0000:{0x10 + p:02x}:10.{v}",
                DevType.VF,
                numa,
                physnet,
                parent_address=pf_addr,
                trusted=not identical and draw(st.booleans()),
                status=ALLOCATED if "allocated" in vf_role else None,
            )
            (unselected if vf_role.startswith("unselected") else devices).append(vf)
    return Host(
        "h",
        vcpus=16,
        memory_mb=32768,
        cells=cells,
        devices=tuple(devices),
        unselected=tuple(unselected),
    )


def _request(draw: st.DrawFn, i: int, physnets: list[str]) -> PciRequest:
    policy = draw(st.sampled_from(list(NumaPolicy)))
    kind = draw(st.sampled_from(["pf-port", "vf-port", "vf-port", "any-alias", "pf-alias"]))
    if kind.endswith("port"):
        types = (
            frozenset({DevType.PF}) if kind == "pf-port" else frozenset({DevType.VF, DevType.PCI})
        )
        nets = frozenset(draw(st.lists(st.sampled_from(physnets), min_size=1, max_size=2)))
        trusted = True if kind == "vf-port" and draw(st.integers(0, 3)) == 0 else None
        matcher = DeviceMatcher(types, physnets=nets, trusted=trusted)
        return PciRequest(RequestKind.PORT, str(i), 1, (matcher,), policy)
    types = frozenset({DevType.PF}) if kind == "pf-alias" else frozenset({DevType.PF, DevType.VF})
    count = draw(st.integers(1, 2))
    return PciRequest(RequestKind.ALIAS, kind, count, (DeviceMatcher(types, "8086"),), policy)


@st.composite
def big_requests(draw: st.DrawFn, host: Host) -> PlacementRequest:
    physnets = sorted({d.tags["physical_network"] for d in host.devices}) or ["phy1"]
    pci: list[PciRequest] = []
    slots = draw(st.integers(1, 5))
    while sum(p.count for p in pci) < slots:
        pci.append(_request(draw, len(pci), physnets))
    guest: tuple[GuestCell, ...] = ()
    if host.cells and draw(st.integers(0, 3)):
        k = draw(st.integers(1, len(host.cells)))
        if k <= 3 and draw(st.booleans()):  # cells of different sizes (as hw:numa_cpus.N)
            guest = tuple(
                GuestCell(g, draw(st.sampled_from([1, 4])), draw(st.sampled_from([512, 4096])))
                for g in range(k)
            )
        else:
            size = (draw(st.sampled_from([1, 4])), draw(st.sampled_from([512, 4096])))
            guest = tuple(GuestCell(g, *size) for g in range(k))
    return PlacementRequest(vcpus=2, memory_mb=1024, pci=tuple(pci), guest_cells=guest)


cases = big_hosts().flatmap(lambda h: st.tuples(st.just(h), big_requests(h)))


def contested(case: tuple[Host, PlacementRequest]) -> int:
    """Free PFs that one request could take whole while one could take one of its VFs
    (NUMA aside)."""
    host, req = case
    free = free_devices(host)
    out = 0
    for pf in (d for d in free if d.dev_type is DevType.PF):
        whole = any(p.matches(pf.dev_type, pf.vendor_id, pf.product_id, pf.tags) for p in req.pci)
        vfs = [d for d in free if d.parent_address == pf.address]
        part = any(
            p.matches(v.dev_type, v.vendor_id, v.product_id, v.tags) for p in req.pci for v in vfs
        )
        out += whole and part
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases)
def test_big_hosts_agree_with_the_oracle(case: tuple[Host, PlacementRequest]) -> None:
    host, req = case
    n = contested(case)
    target(float(n), label="contested PFs")
    event(f"contested PFs: {min(n, 6)}{'+' if n >= 6 else ''}")
    event(f"host cells: {len(host.cells)}, guest cells: {len(req.guest_cells)}")
    decision = decide(Snapshot([host]), req, exhaustive=True)
    best = least_far(host, req)
    assert (decision.placement is not None) == (best is not None), decision.rejected
    if decision.placement is None:
        assert SEARCH_BUDGET not in decision.codes
        return
    placement = decision.placement
    free = {d.address: d for d in free_devices(host)}
    chosen = [free[a] for d in placement.devices for a in d]  # KeyError: not free
    assert len({d.address for d in chosen}) == len(chosen)
    assert valid_together(chosen)
    cells = placement.cells
    spent = 0
    for pci, addrs in zip(req.pci, placement.devices, strict=True):
        assert len(addrs) == pci.count
        assert all(device_ok(host, free[a], pci, tuple(sorted(cells))) for a in addrs)
        spent += sum(far(free[a], pci, cells) for a in addrs)
    assert spent == best  # the fewest devices off the guest's cells (only preferred counts)
    if req.guest_cells:
        by_id = {c.id: c for c in host.cells}
        assert len(set(cells)) == len(req.guest_cells)
        for g, c in zip(req.guest_cells, cells, strict=True):
            assert by_id[c].vcpus >= g.vcpus and by_id[c].memory_mb >= g.memory_mb


def _reaches(condition: Any) -> tuple[Host, PlacementRequest]:
    found: tuple[Host, PlacementRequest] = find(
        cases,
        condition,
        settings=settings(
            max_examples=2000, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )
    return found


def test_the_generator_reaches_the_hard_cases() -> None:
    """The strategy above does produce what it is meant to test: many contested PFs on a host
    of 8 cells under a guest of several cells, and each NUMA policy there."""
    host, _ = _reaches(lambda c: contested(c) >= 6 and len(c[1].guest_cells) >= 2)
    assert len(host.devices) >= 6
    _reaches(lambda c: len(c[0].cells) == 8 and len(c[1].guest_cells) >= 4 and contested(c) >= 2)
    _reaches(lambda c: len(c[1].guest_cells) == 8 and bool(c[1].pci))
    for policy in NumaPolicy:
        _reaches(
            lambda c, p=policy: (
                len(c[0].cells) == 8
                and len(c[1].guest_cells) >= 2
                and any(r.numa_policy is p for r in c[1].pci)
                and contested(c) >= 1
            )
        )
    _reaches(lambda c: any(d.status is ALLOCATED for d in c[0].unselected))
