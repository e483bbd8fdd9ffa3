"""What the dashboard's pages show, gathered from the service layer and the snapshot (no
HTTP, no HTML here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pcinet.service import hosts as service_hosts
from pcinet.service import servers as service_servers
from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import InvalidRequest
from pcinet.service.inputs.limits import MAX_NAME
from pcinet.service.metrics import read_db_gauges
from pcinet.service.usage import Counts, HostUsage, physnet_totals, usage

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


@dataclass(frozen=True, slots=True)
class HostQuery:
    """Which hosts the heat map shows: names containing ``name``, with a device on
    ``physnet`` (then only its column), page ``page`` of ``per_page`` hosts by name."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    name: str = ""
    physnet: str | None = None

    def __post_init__(self) -> None:
        if self.page < 1:
            raise InvalidRequest(f"page: {self.page} is not 1 or more", field="page")
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidRequest(
                f"per_page: {self.per_page} is not in 1..{MAX_PER_PAGE}", field="per_page"
            )
        if len(self.name) > MAX_NAME:
            raise InvalidRequest(f"host: longer than {MAX_NAME} characters", field="host")
        if self.physnet is not None and len(self.physnet) > MAX_NAME:
            raise InvalidRequest(f"physnet: longer than {MAX_NAME} characters", field="physnet")


@dataclass(slots=True)
class Overview:
    hosts: list[HostUsage]  # the page's
    physnets: list[str]  # the heat map's columns
    totals: dict[str, tuple[Counts, Counts]]  # physnet -> (VFs, PFs), over every host
    vlans: dict[str, int]
    ranges: dict[str, str]
    unwell: list[HostUsage] = field(default_factory=list)  # every host disabled or down
    query: HostQuery = field(default_factory=HostQuery)
    matching: int = 0  # hosts the filter keeps, on every page
    pages: int = 1
    first: int = 0  # the page's first host's position (1-based) among the matching ones


def overview(ctl: Controller, query: HostQuery | None = None) -> Overview:
    """The heat map's data from the snapshot: the hosts of one page (``query``), with their
    VFs and PFs per physnet; the totals per physnet and the hosts down or disabled over the
    whole cloud. A page past the last, or a physnet no host has, is ``InvalidRequest``."""
    query = query or HostQuery()
    ctl.cache.maybe_refresh()
    hosts = ctl.cache.read(usage)
    totals = physnet_totals(hosts)
    physnets = list(totals)
    if query.physnet is not None and query.physnet not in totals:
        known = ", ".join(p or "(no physnet)" for p in physnets) or "none"
        raise InvalidRequest(
            f"physnet: no host has a device on {query.physnet!r} (known: {known})",
            field="physnet",
        )
    matching = [
        h
        for h in hosts
        if query.name in h.name
        and (query.physnet is None or query.physnet in h.pfs or query.physnet in h.vfs_by_physnet())
    ]
    pages = max(1, -(-len(matching) // query.per_page))
    if query.page > pages:
        raise InvalidRequest(
            f"page: {query.page} is past the last page ({pages} of {query.per_page} hosts)",
            field="page",
        )
    start = (query.page - 1) * query.per_page
    shown = matching[start : start + query.per_page]
    with ctl.engine.connect() as conn:
        vlans, _ = read_db_gauges(conn)
    ranges = {
        physnet: ", ".join(f"{lo}-{hi}" for lo, hi in spans)
        for physnet, spans in ctl.vlan_ranges.ranges.items()
    }
    unwell = [h for h in hosts if h.disabled or h.down]
    columns = [query.physnet] if query.physnet is not None else physnets
    return Overview(
        shown, columns, totals, vlans, ranges, unwell, query, len(matching), pages, start + 1
    )


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
