"""The ``netlink`` VF driver: pyroute2 on the PF netdev, as ``ip link set <pf> vf N ...``.

Each group of settings (``pcinet.core.vf.GROUPS``) is one ``RTM_NEWLINK`` request on the
PF carrying ``IFLA_VFINFO_LIST`` / ``IFLA_VF_INFO`` with one ``IFLA_VF_*`` attribute:

| group | attribute | fields |
|---|---|---|
| mac | ``IFLA_VF_MAC`` | vf, mac |
| vlan | ``IFLA_VF_VLAN`` (802.1Q) or ``IFLA_VF_VLAN_LIST`` (802.1ad) | vf, vlan, qos (, proto) |
| rate | ``IFLA_VF_RATE`` | vf, min_tx_rate, max_tx_rate (both, always) |
| spoofchk | ``IFLA_VF_SPOOFCHK`` | vf, spoofchk |
| trust | ``IFLA_VF_TRUST`` | vf, trust |
| link_state | ``IFLA_VF_LINK_STATE`` | vf, link_state (0 auto, 1 enable, 2 disable) |

The state is read back from the PF's ``IFLA_VFINFO_LIST`` (``RTM_GETLINK`` with
``IFLA_EXT_MASK`` = ``RTEXT_FILTER_VF``). One request per group lets the error name the
setting the device refused. The message builders are pure, for tests without hardware.
"""

from __future__ import annotations

import asyncio
import errno
import os
from collections.abc import Mapping
from typing import Any

from pyroute2 import AsyncIPRoute
from pyroute2.netlink import NLM_F_ACK, NLM_F_REQUEST
from pyroute2.netlink.exceptions import NetlinkError
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from pcinet.agent.driver import VfError, VfRef
from pcinet.core.vf import ZERO_MAC, VfConfig

LINK_STATE_CODES = {"auto": 0, "enable": 1, "disable": 2}
PROTO_CODES = {"802.1Q": 0x8100, "802.1ad": 0x88A8}
RTEXT_FILTER_VF = 1
UNREPORTED = 0xFFFFFFFF  # the kernel's -1: the device's driver does not report the setting


def vf_attribute(vf_index: int, group: str, settings: Mapping[str, Any]) -> tuple[str, Any]:
    """The one ``IFLA_VF_*`` attribute that programs ``group`` (settings as wanted)."""
    vf = vf_index
    if group == "mac":
        return ("IFLA_VF_MAC", {"vf": vf, "mac": settings["mac"]})
    if group == "vlan":
        vlan, qos, proto = settings["vlan"], settings["qos"], settings["proto"]
        if proto == "802.1Q":
            return ("IFLA_VF_VLAN", {"vf": vf, "vlan": vlan, "qos": qos})
        info = {"vf": vf, "vlan": vlan, "qos": qos, "proto": PROTO_CODES[proto]}
        return ("IFLA_VF_VLAN_LIST", {"attrs": [("IFLA_VF_VLAN_INFO", info)]})
    if group == "rate":
        rates = {"min_tx_rate": settings["min_tx_rate"], "max_tx_rate": settings["max_tx_rate"]}
        return ("IFLA_VF_RATE", {"vf": vf, **rates})
    if group == "spoofchk":
        return ("IFLA_VF_SPOOFCHK", {"vf": vf, "spoofchk": int(bool(settings["spoofchk"]))})
    if group == "trust":
        return ("IFLA_VF_TRUST", {"vf": vf, "trust": int(bool(settings["trust"]))})
    if group == "link_state":
        code = LINK_STATE_CODES[settings["link_state"]]
        return ("IFLA_VF_LINK_STATE", {"vf": vf, "link_state": code})
    raise ValueError(f"unknown VF settings group {group!r}")


def vf_message(ifindex: int, vf_index: int, group: str, settings: Mapping[str, Any]) -> ifinfmsg:
    """The ``RTM_NEWLINK`` request on the PF ``ifindex`` that programs ``group``."""
    msg = ifinfmsg()
    msg["family"] = 0
    msg["index"] = ifindex
    info = {"attrs": [vf_attribute(vf_index, group, settings)]}
    msg["attrs"] = [("IFLA_VFINFO_LIST", {"attrs": [("IFLA_VF_INFO", info)]})]
    msg["header"]["type"] = RTM_NEWLINK
    msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK
    return msg


def _flag(value: int | None, default: bool | None) -> bool | None:
    if value is None:
        return default
    return None if value == UNREPORTED else bool(value)


def parse_vf_info(info: Any) -> tuple[int, VfConfig]:
    """One decoded ``IFLA_VF_INFO`` of a link message: (VF index, settings)."""
    mac = info.get_attr("IFLA_VF_MAC")
    vlan = info.get_attr("IFLA_VF_VLAN") or {}
    index = (mac or vlan or {}).get("vf")
    proto = "802.1Q"
    vlist = info.get_attr("IFLA_VF_VLAN_LIST")
    if vlist is not None:
        for item in vlist.get_attrs("IFLA_VF_VLAN_INFO"):
            codes = {v: k for k, v in PROTO_CODES.items()}
            proto = codes.get(item.get("proto"), "802.1Q")
            vlan = vlan or item
    rate = info.get_attr("IFLA_VF_RATE") or {}
    if not rate and info.get_attr("IFLA_VF_TX_RATE") is not None:  # older kernels: max only
        rate = {"min_tx_rate": 0, "max_tx_rate": info.get_attr("IFLA_VF_TX_RATE")["tx_rate"]}
    spoof = info.get_attr("IFLA_VF_SPOOFCHK")
    trust = info.get_attr("IFLA_VF_TRUST")
    state = info.get_attr("IFLA_VF_LINK_STATE")
    states = {v: k for k, v in LINK_STATE_CODES.items()}
    if index is None:
        raise VfError("an IFLA_VF_INFO without a VF index (no IFLA_VF_MAC nor IFLA_VF_VLAN)")
    config = VfConfig(
        vlan=int(vlan.get("vlan", 0)),
        qos=int(vlan.get("qos", 0)),
        proto=proto,
        mac=str(mac["mac"]).lower() if mac else ZERO_MAC,
        spoofchk=_flag(None if spoof is None else spoof["spoofchk"], None),
        trust=_flag(None if trust is None else trust["trust"], None),
        link_state=states.get(state["link_state"], "auto") if state else "auto",
        min_tx_rate=int(rate.get("min_tx_rate", 0)),
        max_tx_rate=int(rate.get("max_tx_rate", 0)),
    )
    return int(index), config


def parse_link(msg: Any) -> dict[int, VfConfig]:
    """Every VF of a decoded ``RTM_NEWLINK`` answer, by index ({} for a link without VFs)."""
    vflist = msg.get_attr("IFLA_VFINFO_LIST")
    if vflist is None:
        return {}
    return dict(parse_vf_info(info) for info in vflist.get_attrs("IFLA_VF_INFO"))


class NetlinkDriver:
    """One rtnetlink socket, driven by a private event loop (pyroute2's API is async)."""

    name = "netlink"

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ipr: AsyncIPRoute | None = None
        self._ifindex: dict[str, int] = {}

    def _run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def _socket(self) -> AsyncIPRoute:
        if self._ipr is None:
            ipr = AsyncIPRoute()
            self._run(ipr.setup_endpoint())
            self._ipr = ipr
        return self._ipr

    def ifindex(self, pf: str) -> int:
        if pf not in self._ifindex:
            found = self._run(self._socket().link_lookup(ifname=pf))
            if not found:
                raise VfError(f"no network interface {pf} (the PF netdev)")
            self._ifindex[pf] = int(found[0])
        return self._ifindex[pf]

    def read_pf(self, pf: str) -> dict[int, VfConfig]:
        index = self.ifindex(pf)
        try:
            msgs = self._run(self._socket().link("get", index=index, ext_mask=RTEXT_FILTER_VF))
        except NetlinkError as exc:
            self._ifindex.pop(pf, None)  # renamed or gone: look it up again next time
            raise VfError(f"reading the VFs of {pf}: {_reason(exc)}") from None
        out: dict[int, VfConfig] = {}
        for msg in msgs:
            out.update(parse_link(msg))
        return out

    def apply(self, vf: VfRef, groups: Mapping[str, Mapping[str, Any]]) -> None:
        index = self.ifindex(vf.pf)
        for group, settings in groups.items():
            msg = vf_message(index, vf.vf_index, group, settings)
            try:
                self._run(self._request(msg))
            except NetlinkError as exc:
                raise VfError(f"{vf}: setting {group}: {_reason(exc)}") from None

    async def _request(self, msg: ifinfmsg) -> None:
        ipr = self._socket()
        answers = await ipr.nlm_request(
            msg, msg_type=RTM_NEWLINK, msg_flags=NLM_F_REQUEST | NLM_F_ACK
        )
        async for _ in answers:  # the ACK, or NetlinkError
            pass

    def close(self) -> None:
        if self._ipr is not None:
            ipr, self._ipr = self._ipr, None

            async def shut() -> None:
                ipr.close()

            self._run(shut())
        self._loop.close()


def _reason(exc: NetlinkError) -> str:
    code = exc.code
    name = errno.errorcode.get(code, str(code))
    return f"{os.strerror(code)} ({name})"
