"""Two replicas (two controllers on one PostgreSQL database) boot, at once, two
``direct-physical`` ports of one network onto two PFs that report the same MAC (cloned
hosts): the first to commit wins, the other is 409 ``mac_address_in_use`` naming the
winner's port, the network and its PF, with its claim rolled back.

The flavors pin the placements (``cn1`` alone has the memory of A's, ``cn2`` alone the
vCPUs of B's), and A's write waits, its transaction open, until B has written: B's port
update then meets A's uncommitted MAC in the unique index, waits for A's commit and fails
on it (the race, not a read of what A committed: ``holder`` unknown to the store)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from pcinet.config import Settings
from pcinet.core.errors import PcinetError
from pcinet.service import hosts, networks, ports, servers
from pcinet.service.context import ADMIN
from pcinet.service.controller import Controller
from pcinet.store import placements
from pcinet.store.check import check
from pcinet.store.errors import LentMacTaken

CLONED_MAC = "3c:fd:fe:3b:00:00"
PF = "0000:3b:00.0"
HOLD_S = 1.0
TIMEOUT_S = 30.0


def _report(vcpus: int, memory_mb: int) -> dict[str, Any]:
    return {
        "vcpus": vcpus,
        "memory_mb": memory_mb,
        "numa_cells": [{"id": 0, "vcpus": vcpus, "memory_mb": memory_mb}],
        "device_spec": [{"address": PF, "physical_network": "phy1"}],
        "devices": [
            {
                "address": PF,
                "vendor_id": "8086",
                "product_id": "1572",
                "dev_type": "type-PF",
                "numa_node": 0,
                "mac_address": CLONED_MAC,
            }
        ],
    }


def test_two_replicas_lending_one_mac_at_once(
    db_url: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend == "sqlite":
        pytest.skip("SQLite writers run one at a time: the second sees the first committed")
    settings = Settings(database_url=db_url, network_vlan_ranges="phy1:100:199")
    a, b = Controller.start(settings), Controller.start(settings)
    try:
        hosts.report(a, ADMIN, "cn1", _report(vcpus=2, memory_mb=65536))
        hosts.report(a, ADMIN, "cn2", _report(vcpus=32, memory_mb=4096))
        net = networks.create(
            a,
            ADMIN,
            {"name": "net1", "provider:network_type": "vlan", "provider:physical_network": "phy1"},
        )
        own = ("fa:16:3e:00:00:0a", "fa:16:3e:00:00:0b")
        port_a, port_b = (
            ports.create(
                a,
                ADMIN,
                {
                    "network_id": net["id"],
                    "name": f"pf-{i}",
                    "binding:vnic_type": "direct-physical",
                    "mac_address": mac,
                },
            )
            for i, mac in enumerate(own)
        )

        a_wrote = threading.Event()
        checked = placements.mac_holder

        def hold_a_open(*args: Any, **kwargs: Any) -> str | None:
            if threading.current_thread().name == "replica-a" and not a_wrote.is_set():
                a_wrote.set()
                time.sleep(HOLD_S)  # B writes now, against A's uncommitted MAC
            return checked(*args, **kwargs)

        monkeypatch.setattr(placements, "mac_holder", hold_a_open)
        clashes: list[LentMacTaken] = []
        explain = servers._mac_clash

        def record(ctl: Controller, plan: Any, res: Any, exc: LentMacTaken) -> Any:
            clashes.append(exc)
            return explain(ctl, plan, res, exc)

        monkeypatch.setattr(servers, "_mac_clash", record)
        outcomes: dict[str, Any] = {}

        def boot(name: str, ctl: Controller, port: dict[str, Any], flavor: dict[str, Any]) -> None:
            if name == "replica-b":
                a_wrote.wait(TIMEOUT_S)
            try:
                outcomes[name] = servers.create(
                    ctl, ADMIN, {"name": name, "flavor": flavor, "ports": [port["id"]]}
                )
            except PcinetError as exc:
                outcomes[name] = exc

        threads = [
            threading.Thread(
                target=boot,
                name=name,
                args=(name, ctl, port, flavor),
            )
            for name, ctl, port, flavor in (
                ("replica-a", a, port_a, {"vcpus": 1, "memory_mb": 32768}),
                ("replica-b", b, port_b, {"vcpus": 8, "memory_mb": 512}),
            )
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT_S)

        won, lost = outcomes["replica-a"], outcomes["replica-b"]
        assert isinstance(won, dict), won
        assert (won["host"], won["ports"][0]["mac_address"]) == ("cn1", CLONED_MAC)
        assert isinstance(lost, PcinetError) and lost.code == "mac_address_in_use", lost
        for part in (port_b["id"], port_a["id"], "pf-0", "net1", net["id"], PF, "cn2"):
            assert part in lost.message, lost.message
        assert [c.holder for c in clashes] == [None]  # B failed on the unique index

        # B's claim was rolled back: cn2's PF is free, its port unbound with its own MAC
        assert [s["name"] for s in servers.list_servers(b, ADMIN)] == ["replica-a"]
        cn2 = hosts.get_host(b, ADMIN, "cn2")
        assert [d["status"] for d in cn2["devices"]] == ["available"]
        again = ports.get(b, ADMIN, port_b["id"])
        assert (again["mac_address"], again["device_id"]) == (own[1], "")

        assert check(a.engine) == []  # lent_mac among the invariants: the winner's is fine

        servers.delete(a, ADMIN, won["id"])
        assert ports.get(a, ADMIN, port_a["id"])["mac_address"] == own[0]
        # the MAC is free: B's boot goes through now
        monkeypatch.setattr(placements, "mac_holder", checked)
        retried = servers.create(
            b,
            ADMIN,
            {"name": "again", "flavor": {"vcpus": 8, "memory_mb": 512}, "ports": [port_b["id"]]},
        )
        assert (retried["host"], retried["ports"][0]["mac_address"]) == ("cn2", CLONED_MAC)
    finally:
        a.close()
        b.close()
