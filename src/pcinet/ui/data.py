"""What the dashboard's pages show, gathered from the service layer and the snapshot (no
HTTP, no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pcinet.service import hosts as service_hosts
from pcinet.service import servers as service_servers
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.metrics import read_db_gauges
from pcinet.service.usage import Counts, HostUsage, physnet_totals, usage


@dataclass(slots=True)
class Overview:
    hosts: list[HostUsage]
    physnets: list[str]
    totals: dict[str, tuple[Counts, Counts]]  # physnet -> (VFs, PFs)
    vlans: dict[str, int]
    ranges: dict[str, str]
    unwell: list[HostUsage] = field(default_factory=list)


def overview(ctl: Controller) -> Overview:
    """The heat map's data: every host's VFs and PFs per physnet, from the snapshot."""
    ctl.cache.maybe_refresh()
    hosts = ctl.cache.read(usage)
    totals = physnet_totals(hosts)
    physnets = list(totals)
    with ctl.engine.connect() as conn:
        vlans, _ = read_db_gauges(conn)
    ranges = {
        physnet: ", ".join(f"{lo}-{hi}" for lo, hi in spans)
        for physnet, spans in ctl.vlan_ranges.ranges.items()
    }
    unwell = [h for h in hosts if h.disabled or h.down]
    return Overview(hosts, physnets, totals, vlans, ranges, unwell)


def heat(counts: Counts | None) -> str:
    """A cell's colour: green when all free, red when all taken, grey when none; sand when
    its free devices are unschedulable (the host is disabled or down)."""
    if counts is None or not counts.total:
        return "hsl(0, 0%, 92%)"
    if counts.unschedulable:
        return "hsl(40, 30%, 84%)"
    used = (counts.allocated + counts.unavailable) / counts.total
    return f"hsl({round(120 * (1 - used))}, 65%, {round(82 - 20 * used)}%)"


@dataclass(slots=True)
class VfRow:
    address: str
    status: str
    server: str | None
    port: str | None
    vlan: Any
    mac: Any
    trust: Any
    rate: str | None
    desired_generation: Any
    applied_generation: Any
    reported: str | None
    error: str | None
    extra: dict[str, Any]


@dataclass(slots=True)
class PfRow:
    address: str
    devname: str | None
    physnet: Any
    numa: Any
    status: str
    server: str | None
    vfs: list[VfRow]


KNOWN_VF_STATE = {
    "pci_address",
    "port_id",
    "action",
    "desired",
    "generation",
    "applied_generation",
    "reported_status",
    "reported_error",
    "updated_at",
}


def host_page(ctl: Controller, caller: Caller, name: str) -> tuple[dict[str, Any], list[PfRow]]:
    """A host's PFs with their VFs, and per VF its server, port, VLAN, MAC, trust, rate,
    the state the controller wants and what the host's agent reported."""
    host = service_hosts.get_host(ctl, caller, name)
    feed = service_hosts.vf_state(ctl, caller, name)
    states = {str(v["pci_address"]): v for v in feed.get("vfs", [])}
    servers = service_servers.list_servers(ctl, caller, host=name)
    names = {str(s["id"]): str(s.get("name") or s["id"]) for s in servers}
    ports = {str(p.get("pci_slot")): p for s in servers for p in s.get("ports") or []}
    devices = host.get("devices") or []
    pfs: list[PfRow] = []
    by_pf: dict[str, PfRow] = {}
    for d in devices:
        if d.get("dev_type") == "type-PF":
            row = PfRow(
                d["address"],
                d.get("devname"),
                (d.get("tags") or {}).get("physical_network"),
                d.get("numa_node"),
                d.get("status", ""),
                names.get(str(d.get("server_id"))) if d.get("server_id") else None,
                [],
            )
            pfs.append(row)
            by_pf[row.address] = row
    for d in devices:
        if d.get("dev_type") != "type-VF":
            continue
        parent = by_pf.get(str(d.get("parent_address")))
        if parent is None:
            parent = PfRow(str(d.get("parent_address")), None, None, None, "not reported", None, [])
            pfs.append(parent)
            by_pf[parent.address] = parent
        state = states.get(d["address"], {})
        desired = state.get("desired") or {}
        port = ports.get(d["address"])
        rates = [desired.get("min_tx_rate"), desired.get("max_tx_rate")]
        parent.vfs.append(
            VfRow(
                address=d["address"],
                status=d.get("status", ""),
                server=names.get(str(d.get("server_id"))) if d.get("server_id") else None,
                port=(port.get("name") or port.get("id")) if port else state.get("port_id"),
                vlan=desired.get("vlan"),
                mac=desired.get("mac"),
                trust=desired.get("trust"),
                rate=None if rates == [None, None] else f"{rates[0] or 0}-{rates[1] or 0} Mbps",
                desired_generation=state.get("generation"),
                applied_generation=state.get("applied_generation"),
                reported=state.get("reported_status"),
                error=state.get("reported_error"),
                extra={k: v for k, v in state.items() if k not in KNOWN_VF_STATE},
            )
        )
    return host, pfs
