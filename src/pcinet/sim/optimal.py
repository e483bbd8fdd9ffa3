"""An offline upper bound on how many arrivals could have been placed at all (HiGHS).

Knowing every arrival and departure in advance, choose which servers to place on which
*kind* of host so that as many as possible are placed. The model is a relaxation of the
real problem, so its optimum (or, when the time limit stops the search, HiGHS's dual
bound) is a true upper bound of every strategy on the same cloud and workload:

- **Hosts of one layout are pooled.** Servers go to a host *type* (all hosts of one rack
  layout), whose capacity is the sum of its hosts': a server may straddle hosts. Any real
  placement, summed over the hosts of a type, satisfies the pooled constraints.
- **Devices are counted, not assigned, per class.** A class is the PFs of one host that
  look alike (physnet, tags, number of VFs). For every union ``C`` of the classes some
  request can use, the devices needed by requests that can *only* use classes in ``C``
  must fit in ``C`` (Hall's condition, necessary for an assignment). A whole PF counts as
  its VFs (taking it takes them), at least the smallest VF count among its classes.
- **NUMA is ignored**: guest cells and device locality are dropped, as is the order of
  decisions (the bound sees the future).
- Capacity is checked after every arrival, the only moments load grows; departures at
  the same time as an arrival free capacity first, as in the simulation.

- **Servers may be placed in part**: the model is solved as a linear program (its LP
  relaxation), whose optimum bounds the integer one (on 20 hosts and 1,000 arrivals,
  seed 1, the integer optimum was 923 against the LP's 923.5).

The loads are continuous variables that accumulate arrival by arrival (``L_k = L_(k-1)
+ arrivals - departures``, ``L_k <= capacity``), so the model grows linearly with the
workload; load rows that could never pass their capacity are left out.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np

from pcinet.core.host import Host
from pcinet.core.pci import DevType, PciDevice
from pcinet.core.request import PciRequest
from pcinet.sim.cloud import Cloud
from pcinet.sim.limits import DEFAULT_TIME_LIMIT_S
from pcinet.sim.server_requests import RequestBuilder
from pcinet.sim.workload import Workload


class OptimumNotFound(RuntimeError):
    """HiGHS did not prove an optimum within the time limit (so there is no bound)."""


@dataclass(frozen=True, slots=True)
class DeviceClass:
    """Alike devices of one host: ``pf`` (None for a non-SR-IOV device) with ``vfs``."""

    pf: PciDevice | None
    vf: PciDevice | None
    per_host: int  # PFs (or devices) per host
    units: int  # VF units per PF (1 for a plain device)


def device_classes(host: Host) -> list[DeviceClass]:
    children: dict[str, list[PciDevice]] = {}
    for dev in host.devices:
        if dev.parent_address is not None:
            children.setdefault(dev.parent_address, []).append(dev)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    addresses = {d.address for d in host.devices}
    for dev in host.devices:
        if dev.dev_type is DevType.VF and dev.parent_address in addresses:
            continue
        vfs = children.get(dev.address, [])
        vf = vfs[0] if vfs else None
        key = (_sig(dev), _sig(vf) if vf else None, len(vfs))
        groups.setdefault(key, [dev, vf, 0, max(1, len(vfs))])[2] += 1
    return [
        DeviceClass(
            pf if pf.dev_type is DevType.PF else None, vf if pf.dev_type is DevType.PF else pf, n, u
        )
        for pf, vf, n, u in groups.values()
    ]


def _sig(dev: PciDevice) -> tuple[Any, ...]:
    return (dev.dev_type, dev.vendor_id, dev.product_id, tuple(sorted(dev.tags.items())))


def _matches(pci: PciRequest, dev: PciDevice | None) -> bool:
    return dev is not None and pci.matches(dev.dev_type, dev.vendor_id, dev.product_id, dev.tags)


@dataclass(frozen=True, slots=True)
class Demand:
    """What one PCI request needs of a host type: ``units`` from any class in ``classes``,
    and ``pfs`` whole PFs from them."""

    classes: frozenset[int]
    units: int
    pfs: int


def demands(pcis: Iterable[PciRequest], classes: list[DeviceClass]) -> list[Demand] | None:
    """None when some request has no usable class on this host type."""
    out = []
    for pci in pcis:
        as_vf = {i for i, c in enumerate(classes) if _matches(pci, c.vf)}
        as_pf = {i for i, c in enumerate(classes) if _matches(pci, c.pf)}
        if not as_vf and not as_pf:
            return None
        if as_pf and not as_vf:
            least = min(classes[i].units for i in as_pf)
            out.append(Demand(frozenset(as_pf), pci.count * least, pci.count))
        else:
            out.append(Demand(frozenset(as_vf | as_pf), pci.count, 0))
    return out


def _unions(sets: set[frozenset[int]]) -> set[frozenset[int]]:
    closed = set(sets)
    frontier = set(sets)
    while frontier:
        new = {a | b for a in frontier for b in closed} - closed
        closed |= new
        frontier = new
    return closed


def upper_bound(
    cloud: Cloud, workload: Workload, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S
) -> dict[str, Any]:
    """The bound, and how it was reached: ``placed`` (the bound, rounded down), the LP
    optimum, the solver status, ``solve_s`` and the model's size. Raises OptimumNotFound
    when HiGHS does not finish within ``time_limit_s``."""
    start = time.perf_counter()
    types: dict[Any, list[Host]] = {}
    for host, layout in zip(cloud.hosts, cloud.layouts, strict=True):
        types.setdefault(layout, []).append(host)
    builder = RequestBuilder()
    servers = workload.servers
    cols: list[tuple[int, int]] = []  # (server index, type index)
    # resource key (type, name) -> (capacity, {column: coefficient})
    rows: dict[tuple[int, Any], tuple[float, dict[int, float]]] = {}
    for g, hosts in enumerate(types.values()):
        rep, n = hosts[0], len(hosts)
        classes = device_classes(rep)
        per: list[tuple[int, list[Demand], int, int]] = []
        for s in servers:
            req = builder.get(s).pcinet
            if req.vcpus > rep.vcpus or req.memory_mb > rep.memory_mb:
                continue
            need = demands(req.pci, classes)
            if need is not None:
                per.append((s.id, need, req.vcpus, req.memory_mb))
        unions = _unions({d.classes for _, need, _, _ in per for d in need})
        for sid, need, vcpus, memory in per:
            col = len(cols)
            cols.append((sid, g))
            _add(rows, (g, "vcpus"), n * rep.vcpus, col, vcpus)
            _add(rows, (g, "memory"), n * rep.memory_mb, col, memory)
            for union in unions:
                units = sum(d.units for d in need if d.classes <= union)
                pfs = sum(d.pfs for d in need if d.classes <= union)
                if units:
                    cap = n * sum(classes[i].per_host * classes[i].units for i in union)
                    _add(rows, (g, ("units", union)), cap, col, units)
                if pfs:
                    cap = n * sum(classes[i].per_host for i in union if classes[i].pf)
                    _add(rows, (g, ("pfs", union)), cap, col, pfs)
    result = _solve(cols, rows, workload, time_limit_s)
    result["solve_s"] = round(time.perf_counter() - start, 3)
    result["host_types"] = len(types)
    return result


def _add(
    rows: dict[Any, tuple[float, dict[int, float]]], key: Any, cap: float, col: int, a: float
) -> None:
    if a:
        rows.setdefault(key, (cap, {}))[1][col] = a


def _solve(
    cols: list[tuple[int, int]],
    rows: dict[Any, tuple[float, dict[int, float]]],
    workload: Workload,
    time_limit_s: float,
) -> dict[str, Any]:
    events = workload.events()
    by_server: dict[int, list[int]] = {}
    for col, (sid, _) in enumerate(cols):
        by_server.setdefault(sid, []).append(col)
    col_server = [sid for sid, _ in cols]
    h = highspy.Highs()  # type: ignore[no-untyped-call]
    h.silent()
    h.setOptionValue("time_limit", float(time_limit_s))
    h.setOptionValue("solver", "ipm")
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("threads", 1)
    ny = len(cols)
    inf = highspy.kHighsInf
    if ny:
        h.addVars(ny, np.zeros(ny), np.ones(ny))
        h.changeColsCost(ny, np.arange(ny, dtype=np.int32), np.ones(ny))
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    for columns in by_server.values():  # one host type at most per server
        if len(columns) > 1:
            idx = np.array(columns, dtype=np.int32)
            h.addRow(-inf, 1.0, len(idx), idx, np.ones(len(idx)))
    used_rows = 0
    for cap, coef in rows.values():
        if _can_exceed(coef, col_server, events, cap):
            used_rows += _add_load_rows(h, coef, col_server, events, cap)
    if ny:
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise OptimumNotFound(
                f"HiGHS stopped with status {status!r} within {time_limit_s} s: no bound "
                "(raise --optimal-time-limit, or simulate fewer requests)"
            )
        bound = h.getInfo().objective_function_value
    else:
        status, bound = "Empty", 0.0
    return {
        # the LP optimum is the bound; the tolerance only absorbs solver round-off
        "placed": math.floor(bound + 1e-4),
        "lp_bound": round(bound, 3),
        "status": status,
        "variables": h.getNumCol(),
        "constraints": h.getNumRow(),
        "load_rows": used_rows,
    }


def _can_exceed(
    coef: dict[int, float], col_server: list[int], events: list[tuple[float, int, int]], cap: float
) -> bool:
    """Whether the load could pass ``cap`` even with every server placed (else the
    constraint is redundant)."""
    per_server: dict[int, float] = {}
    for col, a in coef.items():
        per_server[col_server[col]] = a
    load = peak = 0.0
    for _, kind, sid in events:
        step = per_server.get(sid)
        if step is None:
            continue
        load += step if kind else -step
        peak = max(peak, load)
    return peak > cap + 1e-9


def _add_load_rows(
    h: highspy.Highs,
    coef: dict[int, float],
    col_server: list[int],
    events: list[tuple[float, int, int]],
    cap: float,
) -> int:
    """Load after each arrival: L_k = L_(k-1) + a * y(arrival) - sum a * y(departed since)."""
    col_of = {col_server[c]: c for c in coef}
    inf = highspy.kHighsInf
    prev: int | None = None
    pending: list[int] = []
    count = 0
    for _, kind, sid in events:
        col = col_of.get(sid)
        if col is None:
            continue
        if kind == 0:
            pending.append(col)
            continue
        load = h.getNumCol()
        h.addVar(0.0, cap)
        idx = [load, col] + ([prev] if prev is not None else []) + pending
        val = [1.0, -coef[col]] + ([-1.0] if prev is not None else []) + [coef[c] for c in pending]
        upper = 0.0 if prev is not None else inf
        h.addRow(0.0, upper, len(idx), np.array(idx, dtype=np.int32), np.array(val))
        prev, pending = load, []
        count += 1
    return count
