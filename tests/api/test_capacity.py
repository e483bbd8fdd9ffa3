"""``GET /v1/capacity`` and ``pcinet capacity``: the answer equals what booting that server
again and again through the API achieves, per host, on clouds with PF/VF contention and
NUMA; asking changes nothing; the limit is an error, not a cap."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.client import ApiError, Client
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

Json = dict[str, Any]


def report(vcpus: int, memory_mb: int, pfs: list[tuple[int, int, str, int]]) -> Json:
    """A host with ``pfs`` = (bus, NUMA node, physnet, VFs): each PF and its VFs tagged with
    the physnet by address; two NUMA cells sharing vCPUs and memory evenly."""
    devices: list[Json] = []
    specs: list[Json] = []
    for bus, numa, physnet, vfs in pfs:
        pf = f"0000:{bus:02x}:00.0"
        devices.append(
            {
                "address": pf,
                "vendor_id": "8086",
                "product_id": "1592",
                "dev_type": "type-PF",
                "numa_node": numa,
            }
        )
        devices.extend(
            {
                "address": f"0000:{bus:02x}:01.{i}",
                "vendor_id": "8086",
                "product_id": "1889",
                "dev_type": "type-VF",
                "parent_address": pf,
                "numa_node": numa,
            }
            for i in range(vfs)
        )
        specs.append({"address": pf, "physical_network": physnet})
    cells = [
        {"id": i, "vcpus": vcpus // 2, "memory_mb": memory_mb // 2, "socket": i} for i in (0, 1)
    ]
    return {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": cells,
        "device_spec": specs,
        "devices": devices,
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    with LiveServer(live_settings(tmp_path)) as server, Client(server.url, ADMIN_TOKEN) as c:
        yield c


def network(client: Client, name: str, physnet: str) -> Json:
    return client.create_network(
        {"name": name, "provider:network_type": "vlan", "provider:physical_network": physnet}
    )


def boot(client: Client, net: Json, vnic: str, ports: int, flavor: Json, name: str) -> Json:
    ids = [
        client.create_port({"network_id": net["id"], "binding:vnic_type": vnic})["id"]
        for _ in range(ports)
    ]
    return client.create_server(name, flavor, ids)


def boot_on(client: Client, host: str, *args: Any) -> Json:
    """Boot with every other host disabled meanwhile."""
    others = [h["name"] for h in client.list_hosts() if h["name"] != host]
    for other in others:
        client.set_host_disabled(other, True)
    try:
        return boot(client, *args)
    finally:
        for other in others:
            client.set_host_disabled(other, False)


def boot_until_full(client: Client, net: Json, vnic: str, ports: int, flavor: Json) -> Counter[str]:
    placed: Counter[str] = Counter()
    for i in range(500):
        try:
            server = boot(client, net, vnic, ports, flavor, f"fill-{i}")
        except ApiError as exc:
            assert exc.code == "no_valid_host", exc
            return placed
        placed[server["host"]] += 1
    raise AssertionError("the cloud never filled up")


def capacity(client: Client, **params: Any) -> Json:
    answer: Json = client.get_capacity(**params)
    return answer


def check_equals_repeated_boots(
    client: Client, net: Json, vnic: str, ports: int, flavor: Json
) -> Json:
    specs = [f"{k}={v}" for k, v in flavor.get("extra_specs", {}).items()]
    params = {
        "network": net["name"],
        "vnic_type": vnic,
        "ports": ports,
        "vcpus": flavor["vcpus"],
        "memory_mb": flavor["memory_mb"],
        "extra_spec": specs,
    }
    answer = capacity(client, **params)
    assert capacity(client, **params) == answer  # asking changes nothing
    placed = boot_until_full(client, net, vnic, ports, flavor)
    assert answer["total"] == sum(placed.values())
    assert {h["host"]: h["fits"] for h in answer["hosts"] if h["fits"]} == dict(placed)
    after = capacity(client, **params)
    assert after["total"] == 0
    assert all(h["limited_by"] for h in after["hosts"])
    return answer


def test_whole_pfs_with_some_vfs_taken(client: Client) -> None:
    """direct-physical: a PF with one VF allocated cannot be passed through."""
    for name in ("cn1", "cn2", "cn3"):
        client.put_host(name, report(16, 16384, [(0x3B, 0, "phy1", 4), (0x5E, 1, "phy1", 4)]))
    net = network(client, "wan", "phy1")
    small = {"vcpus": 1, "memory_mb": 256}
    boot_on(client, "cn2", net, "direct", 1, small, "holds-a-vf")
    answer = check_equals_repeated_boots(client, net, "direct-physical", 1, small)
    fits = {h["host"]: h["fits"] for h in answer["hosts"]}
    assert fits == {"cn1": 2, "cn2": 1, "cn3": 2}


def test_vfs_with_pfs_passed_through_and_numa_required(client: Client) -> None:
    """Two ports per server, on one guest NUMA cell with its VFs local (required), on hosts
    where a PF is passed through whole and compute runs out on one."""
    client.put_host("cn1", report(8, 8192, [(0x3B, 0, "phy1", 3), (0x5E, 1, "phy1", 5)]))
    client.put_host("cn2", report(16, 16384, [(0x3B, 0, "phy1", 4), (0x5E, 1, "phy1", 4)]))
    client.put_host("cn3", report(4, 4096, [(0x3B, 0, "phy1", 8), (0x5E, 1, "phy2", 8)]))
    net = network(client, "data", "phy1")
    boot_on(client, "cn2", net, "direct-physical", 1, {"vcpus": 1, "memory_mb": 256}, "pf-user")
    flavor = {
        "vcpus": 2,
        "memory_mb": 1024,
        "extra_specs": {"hw:numa_nodes": "1", "hw:pci_numa_affinity_policy": "required"},
    }
    answer = check_equals_repeated_boots(client, net, "direct", 2, flavor)
    assert answer["total"] > 0
    assert {h["host"] for h in answer["hosts"]} == {"cn1", "cn2", "cn3"}


def test_macvtap_spread_over_hosts_with_memory_limits(client: Client) -> None:
    for i, memory in enumerate((2048, 4096, 8192, 3072)):
        client.put_host(f"cn{i}", report(32, memory, [(0x3B, 0, "phy1", 6), (0x5E, 1, "phy1", 2)]))
    net = network(client, "lan", "phy1")
    answer = check_equals_repeated_boots(client, net, "macvtap", 1, {"vcpus": 1, "memory_mb": 768})
    limits = {h["limited_by"] for h in answer["hosts"]}
    assert len(limits) >= 1 and answer["total"] > 0


def test_more_than_the_limit_is_an_error(client: Client) -> None:
    client.put_host("cn1", report(64, 65536, [(0x3B, 0, "phy1", 8)]))
    network(client, "big", "phy1")
    with pytest.raises(ApiError) as caught:
        capacity(client, network="big", max_servers=3)
    assert caught.value.status == 400
    assert caught.value.code == "capacity_limit_exceeded"
    assert caught.value.field == "max_servers"
    assert capacity(client, network="big", max_servers=8)["total"] == 8


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"vnic_type": "normal"}, "vnic_type"),
        ({"ports": 0}, "ports"),
        ({"max_servers": 100000}, "max_servers"),
        ({"extra_spec": ["nokey"]}, "extra_spec"),
    ],
)
def test_bad_parameters_name_the_field(client: Client, params: Json, field: str) -> None:
    client.put_host("cn1", report(8, 8192, [(0x3B, 0, "phy1", 2)]))
    network(client, "n", "phy1")
    with pytest.raises(ApiError) as caught:
        capacity(client, network="n", **params)
    assert caught.value.status == 400
    assert caught.value.field == field


def test_the_cli_prints_the_same_answer(client: Client) -> None:
    client.put_host("cn1", report(8, 8192, [(0x3B, 0, "phy1", 3)]))
    client.put_host("cn2", report(8, 8192, [(0x3B, 0, "phy2", 3)]))
    network(client, "cli-net", "phy1")
    env = {"PCINET_URL": client.url, "PCINET_TOKEN": ADMIN_TOKEN}
    args = ["capacity", "--network", "cli-net", "--vcpus", "2", "--memory-mb", "1024"]
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer == capacity(client, network="cli-net", vcpus=2, memory_mb=1024)
    assert answer["total"] == 3
    cn2 = next(h for h in answer["hosts"] if h["host"] == "cn2")
    assert cn2["fits"] == 0 and "phy1" in cn2["limited_by"]
    table = CliRunner().invoke(app, args, env=env)
    assert "3 more servers fit, on 1 hosts" in table.stdout
    bad = CliRunner().invoke(app, [*args, "--vnic-type", "normal"], env=env)
    assert bad.exit_code == 2
