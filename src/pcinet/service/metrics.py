"""The controller's Prometheus metrics (``GET /metrics``, text format 0.0.4).

Device gauges come from the scheduler's in-memory snapshot at scrape time (one walk over
its pools under the cache's lock, the text written after it by ``service.metrictext``: no
database read); VLANs
used and port states from two ``GROUP BY`` queries, re-read at most every
``DB_GAUGES_TTL_S`` seconds, so a scrape never scans a table more often than that.
Counters and histograms count what this process did (each replica has its own; sum them
in PromQL).

Series (label names follow Prometheus' conventions: lower snake case, no ``_total`` on
gauges, units in the name):

- ``pcinet_vfs{host, pf, physnet, state}``: VFs per PF; ``state`` is ``free`` (the
  scheduler can give it now), ``allocated``, ``unavailable`` (free, but its PF is passed
  through whole) or ``unschedulable`` (free, but its host is disabled or down).
- ``pcinet_pfs{host, physnet, state}``: PFs that may be passed through whole; ``free``,
  ``allocated`` (passed through), ``unavailable`` (some of its VFs are allocated) or
  ``unschedulable``.
- ``pcinet_physnet_vfs{physnet, state}``, ``pcinet_physnet_pfs{physnet, state}``: the same
  summed per physnet, as the dashboard's totals (``service.usage.physnet_totals``).
- ``pcinet_hosts{state}``: ``enabled``, ``disabled``, ``down`` (no recent heartbeat).
- ``pcinet_vlans_used{physnet}``: VLAN ids held by segments on each physnet.
- ``pcinet_ports{host, status}``: bound ports by the status their host's agent reported
  (``DOWN``, ``BUILD``, ``ACTIVE``, ``ERROR``).
- ``pcinet_placements_total``; ``pcinet_refusals_total{code}`` (the API error code of a
  refused server create: ``no_valid_host``, ``network_not_servable``, ...);
  ``pcinet_rejected_hosts_total{reason}`` (the scheduler's reason code per host in refused
  decisions); ``pcinet_claim_conflicts_total``; ``pcinet_claim_retries_total``.
- ``pcinet_decision_seconds`` and ``pcinet_claim_seconds`` (histograms).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pcinet.scheduler import Snapshot
from pcinet.service.metrictext import usage_text
from pcinet.service.usage import NO_PHYSNET, HostUsage, usage
from pcinet.store.models import Port, Segment

DbGauges = tuple[dict[str, int], dict[tuple[str, str], int]]  # VLANs per physnet, ports
SnapshotReader = Callable[[Callable[[Snapshot], list[HostUsage]]], list[HostUsage]]
# No ``*_created`` series beside each counter (process-wide in prometheus-client): the
# text format has no use for them, and they double the series of every counter.
disable_created_metrics()  # type: ignore[no-untyped-call]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
DB_GAUGES_TTL_S = 15.0
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


@dataclass
class Metrics:
    """One controller process's counters and histograms, in a registry of its own (so that
    several controllers in one process, as in the tests, do not mix)."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    # How long VLANs used and port states are served from the last read.
    db_ttl_s: float = DB_GAUGES_TTL_S
    _read_snapshot: SnapshotReader | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        r = self.registry
        self.placements = Counter("pcinet_placements", "Servers placed and claimed.", registry=r)
        self.refusals = Counter(
            "pcinet_refusals", "Server creates refused, by error code.", ["code"], registry=r
        )
        self.rejected_hosts = Counter(
            "pcinet_rejected_hosts",
            "Hosts rejected in refused decisions, by the scheduler's reason code.",
            ["reason"],
            registry=r,
        )
        self.conflicts = Counter(
            "pcinet_claim_conflicts", "Claims that lost a race with another claim.", registry=r
        )
        self.retries = Counter(
            "pcinet_claim_retries", "Placements decided again after a lost race.", registry=r
        )
        self.decision_seconds = Histogram(
            "pcinet_decision_seconds",
            "Time to decide a placement on the snapshot.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.claim_seconds = Histogram(
            "pcinet_claim_seconds",
            "Time to claim a placement in the database (one transaction).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    def rejected(self, reasons: Mapping[str, int]) -> None:
        """A decision found no host: count its rejected hosts by reason code."""
        for reason, hosts in reasons.items():
            self.rejected_hosts.labels(reason=reason).inc(hosts)

    def watch(
        self,
        read_snapshot: SnapshotReader,
        read_db: Callable[[], DbGauges],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Serve the gauges: ``read_snapshot(f)`` calls ``f`` on the snapshot under the
        cache's lock; ``read_db()`` answers VLANs used per physnet and ports per (host,
        status)."""
        self._read_snapshot = read_snapshot
        self.registry.register(_StateCollector(self, read_db, clock))

    def exposition(self) -> bytes:
        """The text format: the registry's families (prometheus-client), then the device
        and host gauges of the snapshot (``service.metrictext``: one walk over its pools
        under the cache's lock, the text written after it)."""
        text = generate_latest(self.registry)
        if self._read_snapshot is None:
            return text
        return text + usage_text(self._read_snapshot(usage)).encode()


def read_db_gauges(conn: sa.Connection) -> DbGauges:
    """VLAN ids used per physnet, and bound ports per (host, status): two ``GROUP BY``s."""
    vlans = conn.execute(
        sa.select(Segment.physical_network, sa.func.count())
        .where(Segment.network_type == "vlan", Segment.segmentation_id.is_not(None))
        .group_by(Segment.physical_network)
    ).all()
    ports = conn.execute(
        sa.select(Port.binding_host_id, Port.status, sa.func.count())
        .where(Port.binding_host_id.is_not(None))
        .group_by(Port.binding_host_id, Port.status)
    ).all()
    return (
        {str(p or NO_PHYSNET): int(n) for p, n in vlans},
        {(str(h), str(s)): int(n) for h, s, n in ports},
    )


class _StateCollector(Collector):
    def __init__(
        self, metrics: Metrics, read_db: Callable[[], DbGauges], clock: Callable[[], float]
    ) -> None:
        self._metrics = metrics
        self._read_db = read_db
        self._clock = clock
        self._lock = threading.Lock()
        self._db: tuple[float, Any] | None = None

    def describe(self) -> list[Metric]:
        return []  # no samples at registration: the families appear at scrape

    def _db_gauges(self) -> DbGauges:
        with self._lock:
            now = self._clock()
            if self._db is None or now - self._db[0] >= self._metrics.db_ttl_s:
                self._db = (now, self._read_db())
            data: DbGauges = self._db[1]
            return data

    def collect(self) -> Iterator[Metric]:
        vlans, ports = self._db_gauges()
        vlan_family = GaugeMetricFamily(
            "pcinet_vlans_used", "VLAN ids held by segments per physnet.", labels=["physnet"]
        )
        for physnet, n in sorted(vlans.items()):
            vlan_family.add_metric([physnet], n)
        port_family = GaugeMetricFamily(
            "pcinet_ports", "Bound ports by agent-reported status.", labels=["host", "status"]
        )
        for (host, status), n in sorted(ports.items()):
            port_family.add_metric([host, status], n)
        yield vlan_family
        yield port_family
