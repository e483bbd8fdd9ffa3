"""PCI aliases: a flavor's ``pci_passthrough:alias`` places the server on a host with the
device, and the server shows which device serves which request."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api, error, expect, gpu, host_report, vf_address

GPU = "0000:d8:00.0"
ALIASES = [
    {"name": "gpu", "device_type": "type-PCI", "vendor_id": "10de", "product_id": "20b5"},
    {"name": "nic", "device_type": "type-VF", "vendor_id": "8086", "product_id": "154c"},
]


def _flavor(alias: str) -> dict[str, Any]:
    return {"vcpus": 2, "memory_mb": 1024, "extra_specs": {"pci_passthrough:alias": alias}}


def _cloud(api: Api) -> None:
    assert expect(api.put("/v1/pci/aliases", ALIASES), 200) == ALIASES
    assert expect(api.get("/v1/pci/aliases"), 200) == ALIASES
    api.report_host("cn-plain", host_report([("3b", "phy1")], vfs=2))
    view = api.report_host(
        "cn-gpu", host_report([("3b", "phy1"), ("5e", None)], vfs=2, gpus=[gpu(GPU)])
    )
    devices = {d["address"]: d for d in view["devices"]}
    assert devices[GPU]["dev_type"] == "type-PCI"
    assert devices[GPU]["tags"] == {}
    assert devices[vf_address("5e", 0)]["tags"] == {}


def test_an_alias_flavor_places_on_the_gpu_host(api: Api) -> None:
    _cloud(api)
    server = api.boot([], name="gpu-vm", flavor=_flavor("gpu:1"))
    assert server["host"] == "cn-gpu"
    assert server["status"] == "ACTIVE"  # a GPU has no VF state to apply
    assert [(d["address"], d["request"], d["alias"]) for d in server["pci_devices"]] == [
        (GPU, 0, "gpu")
    ]
    assert server["flavor"]["extra_specs"] == {"pci_passthrough:alias": "gpu:1"}
    devices = api.devices("cn-gpu")
    assert devices[GPU]["status"] == "allocated"
    assert devices[GPU]["server_id"] == server["id"]
    got = expect(api.get(f"/v1/servers/{server['id']}"), 200)
    assert got["pci_devices"] == server["pci_devices"]
    listed = expect(api.get("/v1/servers"), 200)
    assert listed[0]["pci_devices"] == server["pci_devices"]

    # the only GPU is taken now
    err = error(api.boot_response([], flavor=_flavor("gpu:1")), 409, "no_valid_host")
    assert set(err["hosts"]) == {"cn-plain", "cn-gpu"}
    assert all("gpu" in reason for reason in err["hosts"].values())
    expect(api.delete(f"/v1/servers/{server['id']}"), 204)
    assert api.devices("cn-gpu")[GPU]["status"] == "available"
    assert api.boot([], flavor=_flavor("gpu:1"))["host"] == "cn-gpu"


def test_alias_and_port_devices_are_listed_per_request(api: Api) -> None:
    _cloud(api)
    net = api.vlan_network("net1", "phy1", 100)
    port = api.port(net["id"])
    server = api.boot([port["id"]], flavor=_flavor("gpu:1,nic:2"))
    assert server["host"] == "cn-gpu"
    by_request: dict[int, list[dict[str, Any]]] = {}
    for device in server["pci_devices"]:
        by_request.setdefault(device["request"], []).append(device)
    assert [d["address"] for d in by_request[0]] == [GPU]
    assert {d["alias"] for d in by_request[0]} == {"gpu"}
    assert len(by_request[1]) == 2 and {d["alias"] for d in by_request[1]} == {"nic"}
    (port_device,) = by_request[2]
    assert port_device["alias"] is None
    assert port_device["address"] == server["ports"][0]["pci_slot"]
    assert port_device["address"].startswith("0000:3b:")  # the port's VF is on phy1
    assert len({d["address"] for d in server["pci_devices"]}) == 4
    devices = api.devices("cn-gpu")
    for device in server["pci_devices"]:
        assert devices[device["address"]]["server_id"] == server["id"]
    # cn-plain has no GPU, and cn-gpu has one VF left: a second such server fits nowhere
    port2 = api.port(net["id"])
    err = error(
        api.boot_response([port2["id"]], flavor=_flavor("gpu:1,nic:2")), 409, "no_valid_host"
    )
    assert set(err["hosts"]) == {"cn-plain", "cn-gpu"}


def test_invalid_aliases_are_400_naming_the_field(api: Api) -> None:
    cases: list[tuple[Any, str]] = [
        ([{"name": "g", "device_type": "type-GPU"}], "aliases[0].device_type"),
        ([ALIASES[0], {"name": "g", "vendor_id": "10dex"}], "aliases[1].vendor_id"),
        ([{"name": "a:b"}], "aliases[0].name"),
        ([{"name": "g", "colour": "green"}], "aliases[0].colour"),
        (
            [
                {"name": "g", "device_type": "type-PCI"},
                {"name": "g", "device_type": "type-VF"},
            ],
            "aliases[1].device_type",
        ),
    ]
    for body, field in cases:
        err = error(api.put("/v1/pci/aliases", body), 400, "invalid_alias")
        assert err["field"] == field, body
        assert field in err["message"]
    err = error(api.put("/v1/pci/aliases", {"name": "g"}), 400, "invalid_request")
    assert err["field"] == "aliases"
    assert expect(api.get("/v1/pci/aliases"), 200) == []  # nothing was stored


def test_a_flavor_naming_an_unknown_alias_is_400_invalid_flavor(api: Api) -> None:
    _cloud(api)
    err = error(api.boot_response([], flavor=_flavor("fpga:1")), 400, "invalid_flavor")
    assert err["field"] == "pci_passthrough:alias"
    assert "fpga" in err["message"]
    err = error(api.boot_response([], flavor=_flavor("gpu:x")), 400, "invalid_flavor")
    assert "pci_passthrough:alias" in err["field"]
    assert expect(api.get("/v1/servers"), 200) == []
