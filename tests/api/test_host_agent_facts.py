"""What the host agent needs of its devices (VF index, PCIe root, MAC, netdev) goes from the
agent's inventory report into the store and back out of ``GET /v1/hosts/{name}``, on both
databases; bad values are 400 naming the device's property."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcinet.core.nics import E810, X710
from pcinet.inventory.agentconf import load_agent_config
from pcinet.inventory.report import host_report
from pcinet.inventory.resources import read_host_resources
from pcinet.inventory.sysfs import discover
from pcinet.inventory.treegen import (
    GpuLayout,
    HostLayout,
    NicLayout,
    NumaNodeLayout,
    write_sysfs_tree,
)
from tests.api.conftest import Api, error

LAYOUT = HostLayout(
    nics=(
        NicLayout(E810, "0000:3b:00.0", numvfs=2, vfio_vfs=(1,), ifname="ens5f"),
        NicLayout(X710, "0000:af:00.0", numvfs=2, numa_node=1, ifname="ens6f"),
    ),
    gpus=(GpuLayout("0000:d8:00.0", numa_node=1),),
    numa_nodes=(NumaNodeLayout(16, 65536, 0), NumaNodeLayout(16, 65536, 1)),
)


def _report(tmp_path: Path, layout: HostLayout = LAYOUT) -> dict[str, object]:
    root = write_sysfs_tree(tmp_path / "sys", layout)
    config = load_agent_config(
        device_specs=[
            '{"devname": "ens5f0", "physical_network": "phy1"}',
            '{"address": "0000:af:00.1", "physical_network": "phy2", "trusted": "true"}',
            '{"vendor_id": "10de", "product_id": "20b5"}',
        ],
        reserved_host_cpus=2,
    )
    return host_report("cn1", discover(root), read_host_resources(root), config)


def test_an_agent_report_round_trips_with_the_agent_facts(api: Api, tmp_path: Path) -> None:
    report = _report(tmp_path)
    view = api.report_host("cn1", report, status=201)
    assert (view["vcpus"], view["memory_mb"]) == (30, 131072 - 512)
    assert [(c["id"], c["vcpus"], c["socket"]) for c in view["numa_cells"]] == [
        (0, 16, 0),
        (1, 16, 1),
    ]
    devices = api.devices("cn1")
    assert sorted(devices) == [
        "0000:3b:00.0",
        "0000:3b:01.0",
        "0000:3b:01.1",
        "0000:af:00.1",
        "0000:af:0a.0",
        "0000:af:0a.1",
        "0000:d8:00.0",
    ]
    pf = devices["0000:3b:00.0"]
    assert {k: pf[k] for k in ("devname", "vf_index", "pcie_root", "mac_address")} == {
        "devname": "ens5f0",
        "vf_index": None,
        "pcie_root": "pci0000:3a/0000:3a:00.0",
        "mac_address": "3c:fd:fe:3b:00:00",
    }
    vf = devices["0000:3b:01.0"]
    assert (vf["parent_address"], vf["vf_index"], vf["devname"]) == ("0000:3b:00.0", 0, "ens5f0v0")
    assert vf["mac_address"] == "02:00:3b:00:00:00"
    vfio = devices["0000:3b:01.1"]
    assert (vfio["vf_index"], vfio["devname"], vfio["mac_address"]) == (1, None, None)
    assert devices["0000:af:0a.1"]["tags"] == {"physical_network": "phy2", "trusted": "true"}
    assert devices["0000:af:0a.1"]["vf_index"] == 1
    gpu = devices["0000:d8:00.0"]
    assert (gpu["dev_type"], gpu["pcie_root"], gpu["tags"]) == (
        "type-PCI",
        "pci0000:d7/0000:d7:00.0",
        {},
    )


def test_a_changed_fact_is_updated_on_re_report(api: Api, tmp_path: Path) -> None:
    report = _report(tmp_path)
    api.report_host("cn1", report, status=201)
    devices = report["devices"]
    assert isinstance(devices, list)
    for device in devices:
        if device["address"] == "0000:3b:00.0":
            device["mac_address"] = "3C-FD-FE-00-00-99"
            device["pcie_root"] = "pci0000:3a/0000:3a:02.0"
    api.report_host("cn1", report, status=200)
    pf = api.devices("cn1")["0000:3b:00.0"]
    assert (pf["mac_address"], pf["pcie_root"]) == (
        "3c:fd:fe:00:00:99",
        "pci0000:3a/0000:3a:02.0",
    )


@pytest.mark.parametrize(
    ("index", "key", "value", "field"),
    [
        (0, "vf_index", 0, "host.devices[0].vf_index"),  # a PF has no VF index
        (1, "vf_index", -1, "host.devices[1].vf_index"),
        (1, "vf_index", True, "host.devices[1].vf_index"),
        (1, "pcie_root", "0000:3a:00.0", "host.devices[1].pcie_root"),
        (1, "pcie_root", 7, "host.devices[1].pcie_root"),
        (1, "mac_address", "3c:fd:fe:3b:00", "host.devices[1].mac_address"),
    ],
)
def test_bad_agent_facts_are_400(
    api: Api, tmp_path: Path, index: int, key: str, value: object, field: str
) -> None:
    report = _report(tmp_path)
    devices = report["devices"]
    assert isinstance(devices, list)
    devices[index][key] = value
    err = error(api.put("/v1/hosts/cn1", report), 400, "invalid_device")
    assert err["field"] == field
    assert api.get("/v1/hosts/cn1").status_code == 404  # nothing half-written


def test_the_vf_state_feed_gives_the_pf_netdev_and_vf_index_reported(
    api: Api, tmp_path: Path
) -> None:
    api.report_host("cn1", _report(tmp_path), status=201)
    net = api.vlan_network("net1", "phy2", 200)
    server = api.boot_on(net["id"])
    slot = server["ports"][0]["pci_slot"]
    row = api.vf_state("cn1")[slot]
    reported = api.devices("cn1")[slot]
    assert (row["pf"], row["vf_index"]) == ("ens6f1", reported["vf_index"])
    assert row["vf_index"] in (0, 1)
    # Neutron's binding:profile of a VF port carries its index on the PF (vf_num), as Nova
    # fills it in
    assert server["ports"][0]["binding:profile"]["vf_num"] == reported["vf_index"]
