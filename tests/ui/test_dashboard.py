"""The dashboard in a real headless Chromium (Debian ``chromium`` and ``chromium-driver``,
driven by Selenium with the system chromedriver; ``make test`` installs them): pages load,
the heat map follows boots and deletes, the why-not form shows every host's reason, and a
member sees only its own project's objects."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from pcinet.client import Client
from pcinet.demo.cloud import host_report
from tests.live import ADMIN_TOKEN, LiveServer, live_settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
# Where the screenshots of docs/ are written when asked: PCINET_SCREENSHOTS=docs
SHOTS = os.environ.get("PCINET_SCREENSHOTS")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = live_settings(tmp_path_factory.mktemp("ui"))
    with LiveServer(settings) as server, Client(server.url, ADMIN_TOKEN) as client:
        for name in ("cn1", "cn2", "cn3"):
            client.put_host(name, host_report())
        client.set_host_disabled("cn3", True)
        for physnet in ("phy1", "phy2"):
            client.create_network(
                {
                    "name": f"net-{physnet}",
                    "provider:network_type": "vlan",
                    "provider:physical_network": physnet,
                    "shared": True,
                }
            )
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,900"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(2)
    try:
        yield driver
    finally:
        driver.quit()


def sign_in(browser: webdriver.Chrome, url: str, token: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{url}/ui/login")
    browser.find_element(By.ID, "token").send_keys(token)
    browser.find_element(By.ID, "sign-in").click()
    assert browser.find_element(By.ID, "who")


def cell(browser: webdriver.Chrome, host: str, physnet: str) -> dict[str, Any]:
    element = browser.find_element(By.ID, f"cell-{host}-{physnet}")
    return {
        "free": int(element.get_attribute("data-free") or -1),
        "allocated": int(element.get_attribute("data-allocated") or -1),
        "pfs": int(element.get_attribute("data-pfs") or -1),
        "style": element.get_attribute("style"),
    }


def shot(browser: webdriver.Chrome, name: str) -> None:
    if SHOTS:
        browser.save_screenshot(str(Path(SHOTS) / f"dashboard-{name}.png"))


def settle(browser: webdriver.Chrome, done: Callable[[webdriver.Chrome], bool]) -> None:
    """Wait (20 s at most) for the page that a click loads, however slow the machine."""
    WebDriverWait(
        browser, 20, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)
    ).until(done)


def boot(client: Client, name: str, network: str, vnic: str = "direct") -> dict[str, Any]:
    net = client.list_networks(name=network)[0]
    port = client.create_port(
        {"network_id": net["id"], "name": f"{name}-p0", "binding:vnic_type": vnic}
    )
    return client.create_server(name, {"vcpus": 1, "memory_mb": 256}, [port["id"]])


def test_sign_in_is_required_and_a_bad_token_is_refused(
    browser: webdriver.Chrome, url: str
) -> None:
    browser.delete_all_cookies()
    browser.get(f"{url}/ui")
    assert browser.current_url.endswith("/ui/login")
    browser.find_element(By.ID, "token").send_keys("not-a-token")
    browser.find_element(By.ID, "sign-in").click()
    assert browser.find_element(By.ID, "error").text
    assert not [c for c in browser.get_cookies() if c["name"] == "pcinet_session"]
    sign_in(browser, url, ADMIN_TOKEN)
    session = next(c for c in browser.get_cookies() if c["name"] == "pcinet_session")
    assert session["httpOnly"] is True
    assert browser.execute_script("return document.cookie") == ""  # not readable by scripts


def test_heat_map_follows_a_boot_and_a_delete(browser: webdriver.Chrome, url: str) -> None:
    sign_in(browser, url, ADMIN_TOKEN)
    before = {h: cell(browser, h, "phy1") for h in ("cn1", "cn2")}
    assert all(c["free"] == 8 and c["allocated"] == 0 for c in before.values())
    assert "disabled" in browser.find_element(By.ID, "unwell").text
    assert "cn3" in browser.find_element(By.ID, "unwell").text

    with Client(url, ADMIN_TOKEN) as client:
        vm = boot(client, "heat-vm", "net-phy1")
        pf_user = boot(client, "heat-pf", "net-phy2", "direct-physical")
    browser.refresh()
    host = vm["host"]
    after = cell(browser, host, "phy1")
    assert (after["free"], after["allocated"]) == (7, 1)
    assert after["style"] != before[host]["style"]
    assert cell(browser, pf_user["host"], "phy2")["pfs"] == 1
    assert "PF\u00d71" in browser.find_element(By.ID, f"cell-{pf_user['host']}-phy2").text
    totals = browser.find_element(By.ID, "total-phy1").text.split()
    # cn3 is disabled: its 8 free VFs are unschedulable, not free
    assert totals[:5] == ["phy1", "15", "1", "0", "8"]
    offline = browser.find_element(By.ID, "cell-cn3-phy1")
    assert offline.get_attribute("data-free") == "0"
    assert offline.get_attribute("data-unschedulable") == "8"
    shot(browser, "overview")

    browser.get(f"{url}/ui/hosts/{host}")
    row = browser.find_element(By.ID, f"vf-{vm['ports'][0]['pci_slot']}")
    for value in ("heat-vm", "heat-vm-p0", vm["ports"][0]["mac_address"], "allocated"):
        assert value in row.text
    assert vm["ports"][0]["binding:vif_details"]["vlan"] in row.text
    shot(browser, "host")

    with Client(url, ADMIN_TOKEN) as client:
        client.delete_server(vm["id"])
        client.delete_server(pf_user["id"])
    browser.get(f"{url}/ui")
    again = cell(browser, host, "phy1")
    assert (again["free"], again["allocated"]) == (8, 0)
    assert again["style"] == before[host]["style"]
    assert cell(browser, pf_user["host"], "phy2")["pfs"] == 0


def test_the_host_list_pages_and_filters(browser: webdriver.Chrome, url: str) -> None:
    def rows() -> list[str]:
        heat = browser.find_elements(By.CSS_SELECTOR, "#heatmap tbody tr th a")
        return [a.text for a in heat]

    sign_in(browser, url, ADMIN_TOKEN)
    browser.get(f"{url}/ui?per_page=2")
    assert rows() == ["cn1", "cn2"]
    assert "Hosts 1\N{EN DASH}2 of 3, page 1 of 2" in browser.find_element(By.ID, "pager").text
    browser.find_element(By.ID, "next-page").click()
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: rows() == ["cn3"]
    )
    assert not browser.find_elements(By.ID, "next-page")
    name = browser.find_element(By.ID, "host-name")
    name.send_keys("2")
    Select(browser.find_element(By.ID, "physnet-filter")).select_by_visible_text("phy2")
    browser.find_element(By.ID, "filter").click()
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: rows() == ["cn2"]
    )
    header = [th.text for th in browser.find_elements(By.CSS_SELECTOR, "#heatmap thead th")]
    assert header == ["host", "phy2"]
    assert "phy1" in browser.find_element(By.ID, "totals").text  # totals: the whole cloud's
    browser.get(f"{url}/ui?per_page=0")
    assert "per_page" in browser.find_element(By.ID, "error").text


def test_why_not_shows_every_hosts_reason(browser: webdriver.Chrome, url: str) -> None:
    sign_in(browser, url, ADMIN_TOKEN)
    browser.get(f"{url}/ui/whynot")
    form = browser.find_element(By.ID, "whynot-form")
    form.find_element(By.NAME, "vcpus").clear()
    form.find_element(By.NAME, "vcpus").send_keys("2")
    Select(browser.find_element(By.ID, "network0")).select_by_visible_text("net-phy1")
    assert not browser.find_element(By.ID, "network1").is_displayed()
    browser.find_element(By.ID, "add-port").click()  # the script shows a spare row
    Select(browser.find_element(By.ID, "network1")).select_by_visible_text("net-phy2")
    form.find_element(By.NAME, "extra_specs").send_keys("hw:pci_numa_affinity_policy=preferred")
    browser.find_element(By.ID, "ask").click()
    settle(browser, lambda b: "Would go to" in b.find_element(By.ID, "verdict").text)
    reasons = {
        r.find_elements(By.TAG_NAME, "td")[0].text: r.find_elements(By.TAG_NAME, "td")[1].text
        for r in browser.find_elements(By.CSS_SELECTOR, "#reasons tbody tr")
    }
    assert set(reasons) == {"cn1", "cn2", "cn3"} or set(reasons) == {"cn1", "cn2"}
    assert all(v.startswith("fits (score") for k, v in reasons.items() if k != "cn3")
    shot(browser, "whynot")

    Select(browser.find_element(By.ID, "network0")).select_by_visible_text("net-phy1")
    memory = browser.find_element(By.NAME, "memory_mb")
    memory.clear()
    memory.send_keys("999999")
    browser.find_element(By.ID, "ask").click()
    # the answer replaces the page: wait for it rather than read the previous verdict
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: "No host fits" in b.find_element(By.ID, "verdict").text
    )
    assert "No host fits" in browser.find_element(By.ID, "verdict").text
    texts = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "#reasons tbody tr")]
    assert any(t.startswith("cn1") and "memory" in t for t in texts)
    assert any(t.startswith("cn2") and "memory" in t for t in texts)


def test_why_not_takes_existing_ports(browser: webdriver.Chrome, url: str) -> None:
    with Client(url, ADMIN_TOKEN) as client:
        net = client.list_networks(name="net-phy2")[0]
        free = client.create_port({"network_id": net["id"], "binding:vnic_type": "direct"})
        held = boot(client, "why-held", "net-phy2")
        expected = client.why_not({"vcpus": 1, "memory_mb": 512}, [free["id"]])
    sign_in(browser, url, ADMIN_TOKEN)
    browser.get(f"{url}/ui/whynot")
    browser.find_element(By.ID, "port_ids").send_keys(free["id"])
    browser.find_element(By.ID, "ask").click()
    settle(browser, lambda b: "Would go to" in b.find_element(By.ID, "verdict").text)
    verdict = browser.find_element(By.ID, "verdict").text
    assert f"Would go to {expected['host']}" in verdict and expected["devices"][0][0] in verdict
    rows = browser.find_elements(By.CSS_SELECTOR, "#reasons tbody tr")
    assert [r.text.split()[0] for r in rows] == [h["host"] for h in expected["hosts"]]

    field = browser.find_element(By.ID, "port_ids")
    field.clear()
    field.send_keys(f"{free['id']}, {held['ports'][0]['id']}")
    browser.find_element(By.ID, "ask").click()
    WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        lambda b: "port_in_use" in b.find_element(By.ID, "error").text
    )
    assert held["id"] in browser.find_element(By.ID, "error").text
    with Client(url, ADMIN_TOKEN) as client:
        client.delete_server(held["id"])


def test_how_many_more(browser: webdriver.Chrome, url: str) -> None:
    sign_in(browser, url, ADMIN_TOKEN)
    browser.get(f"{url}/ui/capacity")
    Select(browser.find_element(By.ID, "network")).select_by_visible_text("net-phy1")
    browser.find_element(By.ID, "ask").click()
    with Client(url, ADMIN_TOKEN) as client:
        answer = client.get_capacity(network="net-phy1")
    assert browser.find_element(By.ID, "total").text.startswith(str(answer["total"]))
    assert answer["total"] == 16  # 8 phy1 VFs on each enabled host
    shot(browser, "capacity")


def test_a_member_sees_only_its_own_project(browser: webdriver.Chrome, url: str) -> None:
    with Client(url, ADMIN_TOKEN) as admin:
        mine = admin.create_token("blue", "member")["token"]
        theirs = admin.create_token("red", "member")["token"]
    with Client(url, mine) as client:
        own = boot(client, "blue-vm", "net-phy1")
    with Client(url, theirs) as client:
        other = boot(client, "red-vm", "net-phy1")

    sign_in(browser, url, mine)
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "blue-vm" in page and own["id"] in page
    assert "red-vm" not in page and other["id"] not in page
    assert "red-vm-p0" not in page
    assert not browser.find_elements(By.ID, "heatmap")  # hosts are the admin's
    browser.get(f"{url}/ui/hosts/{own['host']}")
    assert "forbidden" in browser.find_element(By.ID, "error").text
    browser.get(f"{url}/ui/whynot")
    options = [o.text for o in Select(browser.find_element(By.ID, "network0")).options]
    assert "net-phy1" in options  # shared networks are the member's to pick
