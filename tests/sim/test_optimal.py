"""The upper bound on hand-made clouds whose answer is known."""

from __future__ import annotations

from typing import Any

from pcinet.sim.cloud import Cloud, Layout, Rack, make_host
from pcinet.sim.optimal import upper_bound
from pcinet.sim.workload import parse_trace

# one X710 host: port 0 (PF + 2 VFs) on phy1, port 1 (PF + 2 VFs) on phy2
LAYOUT = Layout(profile="pf-per-physnet", nic="x710", vfs_per_pf=2, trusted=False)


def cloud(hosts: int = 1) -> Cloud:
    names = tuple(f"cn{i}" for i in range(hosts))
    return Cloud(
        tuple(make_host(n, LAYOUT) for n in names),
        (LAYOUT,) * hosts,
        (Rack("r0", LAYOUT, names),),
        seed=0,
    )


def server(at: float, leave: float | None, *ports: dict[str, Any]) -> dict[str, Any]:
    return {"at": at, "leave": leave, "flavor": "small", "ports": list(ports)}


def bound(c: Cloud, *servers: dict[str, Any]) -> int:
    placed: int = upper_bound(c, parse_trace({"servers": list(servers)}))["placed"]
    return placed


VF1 = {"network": "prov-phy1"}
PF1 = {"network": "prov-phy1", "vnic_type": "direct-physical"}


def test_vfs_of_one_physnet_bound_the_servers_alive_at_once() -> None:
    assert bound(cloud(), *(server(i, None, VF1) for i in range(3))) == 2
    # the first leaves before the third arrives: all three fit
    assert bound(cloud(), server(0, 1.5, VF1), server(1, None, VF1), server(2, None, VF1)) == 3
    assert bound(cloud(2), *(server(i, None, VF1) for i in range(5))) == 4


def test_a_whole_pf_takes_its_vfs_with_it() -> None:
    assert bound(cloud(), server(0, None, PF1), server(1, None, VF1)) == 1
    # a multi-segment port can use the phy1 VFs while the phy2 PF is taken whole
    multi = {"network": "multi-21"}
    pf2 = {"network": "prov-phy2", "vnic_type": "direct-physical"}
    assert bound(cloud(), server(0, None, pf2), server(1, None, multi), server(2, None, multi)) == 3


def test_a_network_no_host_can_reach_places_nothing() -> None:
    assert bound(cloud(), server(0, None, {"network": "prov-phy3"})) == 0
