"""The netlink driver's messages, encoded and decoded back with pyroute2's own classes
(no hardware needed), its parsing of a PF's IFLA_VFINFO_LIST, the real rtnetlink socket on
``lo`` (no VFs: an empty read, a refused setting), and a real VF when ``PCINET_TEST_PF``
names a PF."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from pcinet.agent.driver import VfError, VfRef
from pcinet.agent.netlink import NetlinkDriver, parse_link, vf_message
from pcinet.core.vf import VfConfig, changes

WANTED = VfConfig(
    vlan=100,
    qos=3,
    proto="802.1ad",
    mac="fa:16:3e:12:34:56",
    spoofchk=False,
    trust=True,
    link_state="disable",
    min_tx_rate=1000,
    max_tx_rate=5000,
)


def decoded(msg: ifinfmsg) -> ifinfmsg:
    msg.encode()
    back = ifinfmsg(bytes(msg.data))
    back.decode()
    return back


def vf_attrs(msg: ifinfmsg) -> list[tuple[str, dict[str, Any]]]:
    """The IFLA_VF_* attributes of the one IFLA_VF_INFO of a decoded message."""
    infos = list(msg.get_attr("IFLA_VFINFO_LIST").get_attrs("IFLA_VF_INFO"))
    assert len(infos) == 1
    out = []
    for attr in infos[0]["attrs"]:
        name, value = attr[0], attr[1]
        out.append((name, {k: v for k, v in value.items() if k != "header"}))
    return out


def test_every_change_is_one_attribute_on_the_pf() -> None:
    groups = changes(VfConfig(), WANTED)
    assert list(groups) == ["mac", "vlan", "rate", "spoofchk", "trust", "link_state"]
    got = {}
    for group, settings in groups.items():
        msg = decoded(vf_message(7, 5, group, settings))
        assert msg["index"] == 7
        assert msg["header"]["type"] == RTM_NEWLINK
        assert msg["header"]["flags"] == NLM_F_REQUEST | NLM_F_ACK
        (attr,) = vf_attrs(msg)
        got[group] = attr
    assert got["mac"] == ("IFLA_VF_MAC", {"vf": 5, "mac": "fa:16:3e:12:34:56"})
    name, vlist = got["vlan"]
    assert name == "IFLA_VF_VLAN_LIST"
    (info,) = vlist["attrs"]
    assert info[0] == "IFLA_VF_VLAN_INFO"
    assert {k: info[1][k] for k in ("vf", "vlan", "qos", "proto")} == {
        "vf": 5,
        "vlan": 100,
        "qos": 3,
        "proto": 0x88A8,
    }
    assert got["rate"] == ("IFLA_VF_RATE", {"vf": 5, "min_tx_rate": 1000, "max_tx_rate": 5000})
    assert got["spoofchk"] == ("IFLA_VF_SPOOFCHK", {"vf": 5, "spoofchk": 0})
    assert got["trust"] == ("IFLA_VF_TRUST", {"vf": 5, "trust": 1})
    assert got["link_state"] == ("IFLA_VF_LINK_STATE", {"vf": 5, "link_state": 2})


def test_an_802_1q_vlan_uses_the_plain_vlan_attribute() -> None:
    wanted = VfConfig(vlan=42, qos=0)
    (attr,) = vf_attrs(decoded(vf_message(3, 0, "vlan", changes(VfConfig(), wanted)["vlan"])))
    assert attr == ("IFLA_VF_VLAN", {"vf": 0, "vlan": 42, "qos": 0})


def test_one_rate_changed_sends_both() -> None:
    actual = VfConfig(min_tx_rate=100, max_tx_rate=900)
    groups = changes(actual, VfConfig(min_tx_rate=100, max_tx_rate=2000))
    assert list(groups) == ["rate"]
    (attr,) = vf_attrs(decoded(vf_message(3, 2, "rate", groups["rate"])))
    assert attr == ("IFLA_VF_RATE", {"vf": 2, "min_tx_rate": 100, "max_tx_rate": 2000})


def kernel_answer(vfs: dict[int, VfConfig], *, unreported: bool = False) -> ifinfmsg:
    """An RTM_NEWLINK answer shaped as the kernel's rtnl_fill_vfinfo writes it."""
    infos = []
    for index, c in vfs.items():
        proto = 0x88A8 if c.proto == "802.1ad" else 0x8100
        states = {"auto": 0, "enable": 1, "disable": 2}
        attrs: list[Any] = [
            ("IFLA_VF_MAC", {"vf": index, "mac": c.mac}),
            ("IFLA_VF_VLAN", {"vf": index, "vlan": c.vlan, "qos": c.qos}),
            (
                "IFLA_VF_VLAN_LIST",
                {
                    "attrs": [
                        (
                            "IFLA_VF_VLAN_INFO",
                            {"vf": index, "vlan": c.vlan, "qos": c.qos, "proto": proto},
                        )
                    ]
                },
            ),
            ("IFLA_VF_TX_RATE", {"vf": index, "tx_rate": c.max_tx_rate}),
            (
                "IFLA_VF_RATE",
                {"vf": index, "min_tx_rate": c.min_tx_rate, "max_tx_rate": c.max_tx_rate},
            ),
            (
                "IFLA_VF_SPOOFCHK",
                {"vf": index, "spoofchk": 0xFFFFFFFF if unreported else int(bool(c.spoofchk))},
            ),
            ("IFLA_VF_LINK_STATE", {"vf": index, "link_state": states[c.link_state]}),
            (
                "IFLA_VF_TRUST",
                {"vf": index, "trust": 0xFFFFFFFF if unreported else int(bool(c.trust))},
            ),
        ]
        infos.append(("IFLA_VF_INFO", {"attrs": attrs}))
    msg = ifinfmsg()
    msg["index"] = 9
    msg["attrs"] = [
        ("IFLA_IFNAME", "ens1f0"),
        ("IFLA_NUM_VF", len(vfs)),
        ("IFLA_VFINFO_LIST", {"attrs": infos}),
    ]
    msg["header"]["type"] = RTM_NEWLINK
    return decoded(msg)


def test_the_pf_vf_list_reads_back_every_setting() -> None:
    vfs = {0: VfConfig(), 1: WANTED, 2: VfConfig(vlan=7, mac="02:00:00:00:00:02")}
    assert parse_link(kernel_answer(vfs)) == vfs


def test_settings_the_device_does_not_report_read_as_none() -> None:
    (config,) = parse_link(kernel_answer({0: VfConfig()}, unreported=True)).values()
    assert config.spoofchk is None and config.trust is None


def test_a_link_without_vfs_has_none() -> None:
    msg = ifinfmsg()
    msg["attrs"] = [("IFLA_IFNAME", "lo")]
    assert parse_link(decoded(msg)) == {}


def test_the_real_socket_reads_lo_and_a_refused_setting_names_it() -> None:
    driver = NetlinkDriver()
    try:
        assert driver.read_pf("lo") == {}
        with pytest.raises(VfError, match=r"lo vf 0\): setting trust: Operation not supported"):
            driver.apply(VfRef("0000:00:00.1", "lo", 0), {"trust": {"trust": True}})
        with pytest.raises(VfError, match="no network interface pcinet-nope0"):
            driver.read_pf("pcinet-nope0")
    finally:
        driver.close()


@pytest.mark.skipif("PCINET_TEST_PF" not in os.environ, reason="PCINET_TEST_PF names no real PF")
def test_a_real_vf_is_programmed_and_restored() -> None:
    pf = os.environ["PCINET_TEST_PF"]
    index = int(os.environ.get("PCINET_TEST_VF", "0"))
    driver = NetlinkDriver()
    ref = VfRef("real", pf, index)
    try:
        original = driver.read_pf(pf)[index]
        wanted = VfConfig(
            vlan=123, mac="fa:16:3e:00:12:34", spoofchk=True, trust=True, link_state="enable"
        )
        driver.apply(ref, changes(original, wanted))
        assert driver.read_pf(pf)[index] == wanted
        driver.apply(ref, changes(wanted, original))
        assert driver.read_pf(pf)[index] == original
    finally:
        driver.close()
