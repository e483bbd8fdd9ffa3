"""Property: the controller decides as ``pcinet plan`` does on the same hosts.

The same host documents (devices reported ``available`` or ``allocated``, device specs that
select a PF with its VFs, only its VFs, only the PF, or nothing) go
- to ``pcinet plan``'s path: ``cloudfile.parse_cloud`` and the pure scheduler on its hosts;
- through the controller: ``PUT /v1/hosts/{name}``'s service (``hosts.report``) into a real
  database (SQLite and PostgreSQL), read back by the controller's snapshot cache
  (``service.cache``).
The decisions are equal: every verdict and reason (exhaustive), and the online placement
the controller makes (with its memo and config)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from pcinet.cloudfile import parse_cloud
from pcinet.config import Settings
from pcinet.core.host import Host
from pcinet.core.pci import DeviceStatus, DevType
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.scheduler import Decision, PlacementRequest, Snapshot, decide
from pcinet.service import hosts
from pcinet.service.context import ADMIN
from pcinet.service.controller import Controller

HOSTS = 3
PHYSNETS = ["phy1", "phy2"]
# How a device spec treats one adapter: its PF address (the PF and its VFs), a wildcard on
# its VFs' slot (the VFs only), a wildcard on the PF's slot (the PF only), or nothing.
SELECTS = ["pf", "pf", "vfs", "pf-only", "none"]


@st.composite
def host_docs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    devices: list[dict[str, Any]] = []
    spec: list[dict[str, Any]] = []
    own_tags = draw(st.integers(0, 4)) == 0  # no device_spec: every device, its own tags
    for p in range(draw(st.integers(1, 3))):
        bus = f"{0x10 + p:02x}"
        pf = f"0000:{bus}:00.0"
        physnet = draw(st.sampled_from(PHYSNETS))
        numa = draw(st.sampled_from([0, 1, None]))
        pf_held = draw(st.integers(0, 4)) == 0
        devices.append(
            {
                "address": pf,
                "vendor_id": "8086",
                "product_id": "1572",
                "dev_type": "type-PF",
                "numa_node": numa,
                "status": "allocated" if pf_held else "available",
            }
        )
        for v in range(draw(st.integers(0, 3))):
            held = not pf_held and draw(st.integers(0, 3)) == 0
            devices.append(
                {
                    "address": f"0000:{bus}:10.{v}",
                    "vendor_id": "8086",
                    "product_id": "154c",
                    "dev_type": "type-VF",
                    "parent_address": pf,
                    "numa_node": numa,
                    "status": "allocated" if held else "available",
                }
            )
        if own_tags:
            for device in devices:
                if device["address"].startswith(f"0000:{bus}:"):
                    device["tags"] = {"physical_network": physnet}
            continue
        selects = draw(st.sampled_from(SELECTS))
        address = {"pf": pf, "vfs": f"0000:{bus}:10.*", "pf-only": f"0000:{bus}:00.*"}
        if selects in address:
            spec.append({"address": address[selects], "physical_network": physnet})
    doc: dict[str, Any] = {
        "name": name,
        "vcpus": 8,
        "memory_mb": 8192,
        "numa_cells": [
            {"id": 0, "vcpus": 4, "memory_mb": 4096},
            {"id": 1, "vcpus": 4, "memory_mb": 4096},
        ],
        "devices": devices,
    }
    if not own_tags:
        doc["device_spec"] = spec
    return doc


@st.composite
def requests(draw: st.DrawFn) -> PlacementRequest:
    pci = []
    for i in range(draw(st.integers(1, 3))):
        policy = draw(st.sampled_from(list(NumaPolicy)))
        kind = draw(st.sampled_from(["vf-port", "vf-port", "pf-port", "vf-alias"]))
        if kind == "vf-alias":
            matcher = DeviceMatcher(frozenset({DevType.VF}), "8086")
            count = draw(st.integers(1, 3))
            pci.append(PciRequest(RequestKind.ALIAS, "vfs", count, (matcher,), policy))
            continue
        types = frozenset({DevType.PF} if kind == "pf-port" else {DevType.VF, DevType.PCI})
        physnets = frozenset({draw(st.sampled_from(PHYSNETS))})
        matcher = DeviceMatcher(types, physnets=physnets)
        pci.append(PciRequest(RequestKind.PORT, str(i), 1, (matcher,), policy))
    return PlacementRequest(vcpus=1, memory_mb=512, pci=tuple(pci))


clouds = st.tuples(*(host_docs(f"h{i}") for i in range(HOSTS)))


@pytest.fixture
def ctl(db_url: str) -> Iterator[Controller]:
    controller = Controller.start(Settings(database_url=db_url), refresh_interval_s=3600)
    try:
        yield controller
    finally:
        controller.close()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(docs=clouds, request=st.lists(requests(), min_size=1, max_size=3), seed=st.integers(0, 9))
def test_the_controller_decides_as_pcinet_plan_does(
    ctl: Controller,
    docs: tuple[dict[str, Any], ...],
    request: list[PlacementRequest],
    seed: int,
) -> None:
    planned = Snapshot(parse_cloud({"hosts": list(docs)}).hosts)
    for doc in docs:
        hosts.report(ctl, ADMIN, doc["name"], doc)
    cache = ctl.cache
    for req in request:

        def exhaustive(snap: Snapshot, r: PlacementRequest = req) -> Decision:
            return decide(snap, r, seed=seed, exhaustive=True)

        def online(snap: Snapshot, r: PlacementRequest = req) -> Decision:
            return decide(snap, r, config=cache.config, seed=seed, memo=cache.memo)

        plan = exhaustive(planned)
        assert cache.read(exhaustive) == plan  # every verdict and reason
        assert cache.read(online).placement == plan.placement


def _held(devices: tuple[Any, ...], dev_type: DevType) -> set[str]:
    return {
        d.address for d in devices if d.dev_type is dev_type and d.status is DeviceStatus.ALLOCATED
    }


def _blocks(host: Host) -> set[str]:
    """What the host has: an unselected allocated PF with a selected VF (``pf``), an
    unselected allocated VF with a selected PF (``vf``), a selected allocated device
    (``selected``)."""
    selected = {d.address for d in host.devices}
    parents = {d.parent_address for d in host.devices if d.parent_address}
    out = set()
    if _held(host.unselected, DevType.PF) & parents:
        out.add("pf")
    held_vfs = _held(host.unselected, DevType.VF)
    if {d.parent_address for d in host.unselected if d.address in held_vfs} & selected:
        out.add("vf")
    if any(d.status is DeviceStatus.ALLOCATED for d in host.devices):
        out.add("selected")
    return out


@pytest.mark.parametrize("case", ["pf", "vf", "selected"])
def test_the_generator_reaches_each_rule(case: str) -> None:
    """The hosts above do hold what the rules are about (parsed as ``pcinet plan`` does)."""
    find(
        host_docs("h"),
        lambda doc: case in _blocks(parse_cloud({"hosts": [doc]}).hosts[0]),
        settings=settings(
            max_examples=500, database=None, derandomize=True, phases=[Phase.generate]
        ),
    )
