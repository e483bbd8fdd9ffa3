"""Per-physnet totals count only what the scheduler could hand out: free devices on hosts
that are disabled or down (no heartbeat) are ``unschedulable``, in ``/metrics`` (per PF and
per physnet) and on the dashboard, and the free figures agree with ``GET /v1/capacity``;
over real HTTP on both databases."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import Api, Start, expect, host_report

HEARTBEAT_S = 3.0


def metric_sums(api: Api) -> dict[tuple[str, str, str], float]:
    """(family, physnet, state) -> the sum over hosts and PFs."""
    response = api.get("/metrics")
    assert response.status_code == 200, response.text
    sums: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            if "physnet" in s.labels and "state" in s.labels:
                key = (s.name, s.labels["physnet"], s.labels["state"])
                sums[key] = sums.get(key, 0) + s.value
    return sums


def dashboard_totals(api: Api, physnet: str) -> list[str]:
    page = httpx.get(f"{api.url}/ui", cookies={"pcinet_session": str(api.token)})
    assert page.status_code == 200
    row = re.search(rf'<tr id="total-{physnet}">(.*?)</tr>', page.text, re.S)
    assert row, page.text
    return re.findall(r"<t[hd]>([^<]*)</t[hd]>", row.group(1))


def test_disabled_and_down_hosts_free_devices_are_not_free_capacity(start: Start) -> None:
    api = start(host_heartbeat_timeout_s=HEARTBEAT_S)
    for name in ("cn1", "cn2", "cn3"):
        api.report_host(name, host_report([("3b", "phy1")], vfs=4))
    net = api.vlan_network("net1", "phy1")
    booted = api.boot_on(net["id"])["host"]  # one VF taken there, its PF no longer whole
    expect(api.put("/v1/hosts/cn2/disabled", {"disabled": True}), 200)
    time.sleep(HEARTBEAT_S + 0.1)  # every report is too old now: all hosts are down
    for _ in range(5):  # a loaded machine may let cn1's heartbeat age out meanwhile: again
        for name in ("cn1", "cn2"):
            expect(api.post(f"/v1/hosts/{name}/heartbeat"), 204)
        sums = metric_sums(api)
        capacity = expect(api.get("/v1/capacity", params={"network": "net1"}), 200)
        totals = dashboard_totals(api, "phy1")
        hosts = {h["name"]: (h["alive"], h["disabled"]) for h in expect(api.get("/v1/hosts"), 200)}
        if hosts == {"cn1": (True, False), "cn2": (True, True), "cn3": (False, False)}:
            break
    else:
        raise AssertionError(f"cn1 was never up through one round of questions: {hosts}")

    free = 4 - (booted == "cn1")  # only cn1 is schedulable
    unschedulable = 8 - (booted != "cn1")  # cn2 disabled, cn3 down
    whole_free, whole_unschedulable = int(booted != "cn1"), 2 - (booted != "cn1")
    assert capacity["total"] == free
    by_host = {h["host"]: h for h in capacity["hosts"]}
    assert "disabled" in by_host["cn2"]["limited_by"] and "down" in by_host["cn3"]["limited_by"]
    for family in ("pcinet_vfs", "pcinet_physnet_vfs"):
        assert sums[(family, "phy1", "free")] == free, family
        assert sums[(family, "phy1", "allocated")] == 1, family
        assert sums[(family, "phy1", "unavailable")] == 0, family
        assert sums[(family, "phy1", "unschedulable")] == unschedulable, family
    for family in ("pcinet_pfs", "pcinet_physnet_pfs"):
        assert sums[(family, "phy1", "free")] == whole_free, family
        assert sums[(family, "phy1", "unavailable")] == 1, family
        assert sums[(family, "phy1", "unschedulable")] == whole_unschedulable, family
    # the dashboard: physnet; VFs free, allocated, unavailable, unschedulable; PFs free,
    # passed through, unschedulable; VLANs used
    assert totals[:9] == [
        "phy1",
        str(free),
        "1",
        "0",
        str(unschedulable),
        str(whole_free),
        "0",
        str(whole_unschedulable),
        "1",
    ], totals


def overview(api: Api, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{api.url}/ui", params=params, cookies={"pcinet_session": str(api.token)}, timeout=30
    )


def test_the_host_list_pages_and_filters(api: Api) -> None:
    names = [f"cn{i:02d}" for i in range(1, 24)]
    for i, name in enumerate(names):
        physnet = "phy2" if i % 2 else "phy1"
        api.report_host(name, host_report([("3b", physnet)], vfs=1, vcpus=4, memory_mb=4096))

    def shown(**params: Any) -> list[str]:
        page = overview(api, **params)
        assert page.status_code == 200, page.text
        table = re.search(r'<table class="heat" id="heatmap">(.*?)</table>', page.text, re.S)
        assert table
        return re.findall(r'<tr class="[^"]*">\s*<th><a href="/ui/hosts/([^"]+)">', table.group(1))

    assert shown() == names  # 23 hosts: one page of the default 100
    assert shown(per_page=10) == names[:10]
    assert shown(per_page=10, page=3) == names[20:]
    page = overview(api, per_page=10, page=2)
    pager = re.search(r'<p class="pager" id="pager">(.*?)</p>', page.text, re.S)
    assert pager and "Hosts 11&ndash;20 of 23, page 2 of 3" in pager.group(1)
    assert 'href="/ui?host=&amp;physnet=&amp;per_page=10&amp;page=3"' in pager.group(1)
    assert shown(host="cn1") == [n for n in names if "cn1" in n]
    assert shown(physnet="phy2", per_page=5, page=2) == names[1::2][5:10]
    # the totals stay the whole cloud's on every page
    totals = re.search(r'<tr id="total-phy1">(.*?)</tr>', overview(api, per_page=1).text, re.S)
    assert totals and "<td>12</td>" in totals.group(1)

    for params, field in (
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"page": "4", "per_page": "10"}, "page"),
        ({"per_page": "0"}, "per_page"),
        ({"per_page": "1001"}, "per_page"),
        ({"physnet": "phy9"}, "physnet"),
        ({"host": "h" * 256}, "host"),
    ):
        page = overview(api, **params)
        assert page.status_code == 400, (params, page.status_code)
        assert f"{field}:" in page.text and "invalid_request" in page.text, (params, page.text)
    assert shown(host="nomatch") == []
