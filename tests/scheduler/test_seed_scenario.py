"""The seed scenario end to end: provider networks phy1/phy2 with VLAN ranges, hosts with
one SR-IOV adapter per physnet, every port direct. Every placement lands on a VF of the
right physnet until that physnet is full, then a clear no-valid-host."""

from __future__ import annotations

from pcinet.cloudfile import ServerRequest, parse_cloud
from pcinet.core.flavor import Flavor
from pcinet.core.port import Port
from pcinet.planner import build_request
from pcinet.scheduler import Snapshot, decide

VFS = 4


def cloud_doc(hosts: int) -> dict[str, object]:
    def adapter(bus: str, node: int) -> list[dict[str, object]]:
        pf = f"0000:{bus}:00.0"
        return [
            {
                "address": pf,
                "vendor_id": "8086",
                "product_id": "1572",
                "dev_type": "type-PF",
                "numa_node": node,
            }
        ] + [
            {
                "address": f"0000:{bus}:02.{v}",
                "vendor_id": "8086",
                "product_id": "154c",
                "dev_type": "type-VF",
                "parent_address": pf,
                "numa_node": node,
            }
            for v in range(VFS)
        ]

    return {
        "device_spec": [
            {"address": "0000:3b:00.0", "physical_network": "phy1"},
            {"address": "0000:af:00.0", "physical_network": "phy2"},
        ],
        "networks": [
            {
                "name": "net1",
                "provider:network_type": "vlan",
                "provider:physical_network": "phy1",
                "provider:segmentation_id": 101,
            },
            {
                "name": "net2",
                "provider:network_type": "vlan",
                "provider:physical_network": "phy2",
                "provider:segmentation_id": 201,
            },
        ],
        "hosts": [
            {
                "name": f"cn{i}",
                "vcpus": 64,
                "memory_mb": 262144,
                "devices": adapter("3b", 0) + adapter("af", 1),
            }
            for i in range(hosts)
        ],
    }


def test_direct_ports_land_on_the_right_physnet_until_it_is_full() -> None:
    cloud = parse_cloud(cloud_doc(3))
    snapshot = Snapshot(cloud.hosts)
    by_host = {h.name: {d.address: d for d in h.devices} for h in cloud.hosts}
    server = ServerRequest(Flavor(2, 2048, {}), (Port("net1", "direct"),))
    request = build_request(cloud, server)
    for i in range(3 * VFS):
        decision = decide(snapshot, request, seed=i)
        assert decision.placement is not None, f"boot {i}: {decision.groups}"
        placement = decision.placement
        (address,) = placement.devices[0]
        device = by_host[placement.host][address]
        assert device.tags["physical_network"] == "phy1"
        snapshot.claim(placement.host, placement.packed_devices(), vcpus=2, memory_mb=2048)
    decision = decide(snapshot, request, seed=99)
    assert decision.placement is None
    error = decision.no_valid_host()
    assert error.groups == {"no free VF on physnet phy1": 3}
    assert "3 hosts: no free VF on physnet phy1" in error.message
    # phy2 is untouched: a port on net2 still fits everywhere
    other = build_request(cloud, ServerRequest(Flavor(2, 2048, {}), (Port("net2", "direct"),)))
    assert decide(snapshot, other).placement is not None
