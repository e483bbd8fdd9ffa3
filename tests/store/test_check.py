"""``pcinet admin check``: a consistent database passes; each invariant, broken on purpose
with raw SQL, is found and named (on SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from pcinet.cli.main import app
from pcinet.config import Settings
from pcinet.service import hosts, networks, ports, servers
from pcinet.service.context import ADMIN
from pcinet.service.controller import Controller
from pcinet.store.check import check

PF = "0000:3b:00.0"
VFS = [f"0000:3b:02.{i}" for i in range(4)]
FLAVOR = {"vcpus": 2, "memory_mb": 1024}


def _report() -> dict[str, Any]:
    vfs = [
        {
            "address": a,
            "vendor_id": "8086",
            "product_id": "154c",
            "dev_type": "type-VF",
            "parent_address": PF,
            "numa_node": 0,
        }
        for a in VFS
    ]
    pf = {"address": PF, "vendor_id": "8086", "product_id": "1572", "dev_type": "type-PF"}
    return {
        "vcpus": 16,
        "memory_mb": 16384,
        "numa_cells": [{"id": 0, "vcpus": 16, "memory_mb": 16384}],
        "device_spec": [{"address": PF, "physical_network": "phy1"}],
        "devices": [{**pf, "numa_node": 0}, *vfs],
    }


@dataclass(frozen=True)
class Cloud:
    engine: sa.Engine
    url: str
    servers: list[dict[str, Any]]  # two servers, one direct port each, on VLANs 100 and 101

    def sql(self, *statements: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), params)

    def one(self, query: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar_one()


@pytest.fixture
def cloud(db_url: str) -> Iterator[Cloud]:
    ctl = Controller.start(Settings(database_url=db_url, network_vlan_ranges="phy1:100:199"))
    try:
        hosts.report(ctl, ADMIN, "cn1", _report())
        made = []
        for vlan in (100, 101):
            net = networks.create(
                ctl,
                ADMIN,
                {
                    "name": f"n{vlan}",
                    "provider:network_type": "vlan",
                    "provider:physical_network": "phy1",
                    "provider:segmentation_id": vlan,
                },
            )
            port = ports.create(
                ctl, ADMIN, {"network_id": net["id"], "binding:vnic_type": "direct"}
            )
            made.append(
                servers.create(
                    ctl, ADMIN, {"name": f"vm{vlan}", "flavor": FLAVOR, "ports": [port["id"]]}
                )
            )
        yield Cloud(ctl.engine, db_url, made)
    finally:
        ctl.close()


def _port(server: dict[str, Any]) -> str:
    return str(server["ports"][0]["id"])


def _slot(server: dict[str, Any]) -> str:
    return str(server["ports"][0]["pci_slot"])


def _twice(c: Cloud) -> None:
    a, b = c.servers
    c.sql("UPDATE ports SET pci_address = :slot WHERE id = :port", slot=_slot(a), port=_port(b))


def _pf_with_vf(c: Cloud) -> None:
    a = c.servers[0]
    pf = c.one("SELECT id FROM devices WHERE address = :a", a=PF)
    host = c.one("SELECT id FROM hosts WHERE name = 'cn1'")
    c.sql(
        "INSERT INTO allocations (device_id, host_id, server_id, request_index, created_at) "
        "VALUES (:d, :h, :s, 7, CURRENT_TIMESTAMP)",
        d=pf,
        h=host,
        s=a["id"],
    )


def _pf_reported(c: Cloud) -> None:
    c.sql("UPDATE devices SET reported_status = 'allocated' WHERE address = :a", a=PF)


def _unselected_pf_reported(c: Cloud) -> None:
    c.sql("UPDATE devices SET parent_address = '0000:3c:00.0' WHERE dev_type = 'type-VF'")
    held = [{"address": "0000:3c:00.0", "vendor_id": "8086", "product_id": "1572"}]
    held[0] |= {"dev_type": "type-PF", "parent_address": None}
    c.sql("UPDATE hosts SET unselected_allocated = :held", held=json.dumps(held))


def _retag(c: Cloud) -> None:
    c.sql(
        "UPDATE devices SET tags = :tags WHERE address = :a",
        tags=json.dumps({"physical_network": "phy2"}),
        a=_slot(c.servers[0]),
    )


def _vlan_twice(c: Cloud) -> None:
    c.sql("DROP INDEX uq_segments_vlan", "UPDATE segments SET segmentation_id = 100")


def _released_holder(c: Cloud) -> None:
    c.sql("UPDATE servers SET host_id = NULL WHERE id = :s", s=c.servers[0]["id"])


def _usage(c: Cloud) -> None:
    c.sql("UPDATE hosts SET vcpus_used = vcpus_used + 1")


def _cell_usage(c: Cloud) -> None:
    c.sql("UPDATE hosts SET cells_used = :cells", cells=json.dumps({"0": {"vcpus": 2}}))


def _no_vf_state(c: Cloud) -> None:
    c.sql("DELETE FROM vf_states WHERE port_id = :p", p=_port(c.servers[1]))


def _lent_to_a_vf(c: Cloud) -> None:
    c.sql(
        "UPDATE ports SET own_mac_address = 'fa:16:3e:99:99:99' WHERE id = :p",
        p=_port(c.servers[0]),
    )


def _own_mac_taken(c: Cloud) -> None:
    mac = c.one("SELECT mac_address FROM ports WHERE id = :p", p=_port(c.servers[1]))
    net = c.one("SELECT network_id FROM ports WHERE id = :p", p=_port(c.servers[1]))
    c.sql(
        "UPDATE ports SET own_mac_address = :mac, network_id = :net WHERE id = :p",
        mac=mac,
        net=net,
        p=_port(c.servers[0]),
    )


CORRUPTIONS: list[tuple[Callable[[Cloud], None], str, str]] = [
    (_twice, "device_held_once", "is bound to 2 ports"),
    (_pf_with_vf, "pf_and_vf_held", f"PF {PF}"),
    (_pf_reported, "pf_and_vf_held", f"while its PF {PF} is reported in use"),
    (_unselected_pf_reported, "pf_and_vf_held", "while its PF 0000:3c:00.0 is reported in use"),
    (_retag, "bound_port_physnet", "the segment's physnet is phy1, the device's is phy2"),
    (_vlan_twice, "vlan_unique", "VLAN 100 of phy1 belongs to 2 segments"),
    (_released_holder, "allocation_live_server", "is released"),
    (_usage, "host_usage", "usage 5 vCPUs"),
    (_cell_usage, "host_usage", "cell usage cell 0: 2 vCPUs 0 MB"),
    (_no_vf_state, "vf_port_state", "no VF state"),
    (_lent_to_a_vf, "lent_mac", "keeps its own MAC fa:16:3e:99:99:99 aside but is bound as hw_veb"),
    (_own_mac_taken, "lent_mac", "(lent away) is port"),
]


def _run(url: str) -> tuple[int, Any]:
    result = CliRunner().invoke(app, ["admin", "check", "--database-url", url, "--json"])
    return result.exit_code, json.loads(result.stdout)


def test_a_consistent_database_passes(cloud: Cloud) -> None:
    assert check(cloud.engine) == []
    assert _run(cloud.url) == (0, {"ok": True, "violations": []})
    # a device the host reports in use is no allocation: it breaks nothing by itself, even
    # one a server holds
    cloud.sql("UPDATE devices SET reported_status = 'allocated' WHERE address = :a", a=VFS[3])
    cloud.sql(
        "UPDATE devices SET reported_status = 'allocated' WHERE address = :a",
        a=_slot(cloud.servers[0]),
    )
    assert check(cloud.engine) == []


@pytest.mark.parametrize(
    ("corrupt", "invariant", "words"), CORRUPTIONS, ids=[c[0].__name__ for c in CORRUPTIONS]
)
def test_each_broken_invariant_is_found(
    cloud: Cloud, corrupt: Callable[[Cloud], None], invariant: str, words: str
) -> None:
    corrupt(cloud)
    found = check(cloud.engine)
    assert any(v.invariant == invariant and words in v.detail for v in found), found
    code, answer = _run(cloud.url)
    assert code == 1 and answer["ok"] is False
    assert any(v["invariant"] == invariant for v in answer["violations"])


def test_check_without_a_database_is_bad_input(tmp_path: Any) -> None:
    code, answer = _run(f"sqlite:///{tmp_path / 'missing.db'}")
    assert code == 2 and answer["error"]["field"] == "--database-url"
    assert not (tmp_path / "missing.db").exists()
    code, answer = _run("postgresql://nobody@127.0.0.1:1/none")
    assert code == 2 and "cannot check the database" in answer["error"]["message"]
