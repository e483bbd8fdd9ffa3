"""``GET /metrics``: device gauges from the snapshot, VLANs and port states, placements,
refusals by code, conflicts, latency histograms; admin or service tokens only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from pcinet.client import ApiError, Client
from pcinet.demo.cloud import host_report
from pcinet.scheduler import Snapshot
from pcinet.service.controller import Controller
from pcinet.service.metrics import DB_GAUGES_TTL_S, Metrics
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str, token: str | None = ADMIN_TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(f"{url}/metrics", headers=headers)


def samples(url: str) -> Samples:
    response = scrape(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(data: Samples, name: str, **labels: str) -> float:
    return data.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    settings = live_settings(tmp_path)
    ctl = Controller.start(settings)
    ctl.metrics.db_ttl_s = 0  # every scrape reads VLANs and ports (see the last test)
    try:
        with LiveServer(settings, controller=ctl) as server, Client(server.url, ADMIN_TOKEN) as c:
            c.put_host("cn1", host_report())
            c.put_host("cn2", host_report())
            yield c
    finally:
        ctl.close()


def test_devices_placements_and_refusals(client: Client) -> None:
    before = samples(client.url)
    pf1 = "0000:3b:00.0"
    assert value(before, "pcinet_vfs", host="cn1", pf=pf1, physnet="phy1", state="free") == 8
    assert value(before, "pcinet_pfs", host="cn1", physnet="phy1", state="free") == 1
    assert value(before, "pcinet_hosts", state="enabled") == 2

    net = client.create_network(
        {"name": "m1", "provider:network_type": "vlan", "provider:physical_network": "phy1"}
    )
    port = client.create_port({"network_id": net["id"], "binding:vnic_type": "direct"})
    server = client.create_server("vm", {"vcpus": 1, "memory_mb": 256}, [port["id"]])
    host = server["host"]
    trusted = client.create_port(
        {
            "network_id": net["id"],
            "binding:vnic_type": "direct",
            "binding:profile": {"trusted": True},
        }
    )
    with pytest.raises(ApiError):
        client.create_server("no", {"vcpus": 1, "memory_mb": 256}, [trusted["id"]])

    after = samples(client.url)
    assert value(after, "pcinet_vfs", host=host, pf=pf1, physnet="phy1", state="free") == 7
    assert value(after, "pcinet_vfs", host=host, pf=pf1, physnet="phy1", state="allocated") == 1
    # one of its VFs is taken: the PF can no longer be passed through whole
    assert value(after, "pcinet_pfs", host=host, physnet="phy1", state="unavailable") == 1
    assert value(after, "pcinet_placements_total") == 1
    assert value(after, "pcinet_refusals_total", code="no_valid_host") == 1
    rejected = {
        labels: n for (name, labels), n in after.items() if name == "pcinet_rejected_hosts_total"
    }
    assert sum(rejected.values()) == 2  # both hosts, each with its reason code
    assert value(after, "pcinet_decision_seconds_count") >= 2
    assert value(after, "pcinet_claim_seconds_count") == 1
    assert value(after, "pcinet_vlans_used", physnet="phy1") == 1
    assert (
        value(after, "pcinet_ports", host=host, status="BUILD")
        + value(after, "pcinet_ports", host=host, status="DOWN")
        == 1
    )

    client.delete_server(server["id"])
    freed = samples(client.url)
    assert value(freed, "pcinet_vfs", host=host, pf=pf1, physnet="phy1", state="free") == 8


def test_only_admin_and_service_tokens_read_metrics(client: Client) -> None:
    assert scrape(client.url, None).status_code == 401
    member = client.create_token("p1", "member")["token"]
    assert scrape(client.url, member).status_code == 403
    service = client.create_token("agents", "service")["token"]
    assert scrape(client.url, service).status_code == 200


def test_database_gauges_are_read_at_most_once_per_ttl() -> None:
    reads: list[float] = []
    now = [0.0]

    def read_db() -> tuple[dict[str, int], dict[tuple[str, str], int]]:
        reads.append(now[0])
        return {"phy1": len(reads)}, {}

    metrics = Metrics()
    metrics.watch(lambda f: f(Snapshot()), read_db, clock=lambda: now[0])
    assert b'pcinet_vlans_used{physnet="phy1"} 1.0' in metrics.exposition()
    now[0] = DB_GAUGES_TTL_S / 2
    assert b'pcinet_vlans_used{physnet="phy1"} 1.0' in metrics.exposition()
    now[0] = DB_GAUGES_TTL_S + 1
    assert b'pcinet_vlans_used{physnet="phy1"} 2.0' in metrics.exposition()
    assert reads == [0.0, DB_GAUGES_TTL_S + 1]
