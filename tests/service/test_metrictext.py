"""``service.metrictext`` writes exactly what prometheus-client's ``generate_latest`` writes
for the same gauge families (the reference below builds them the library's way), for label
values that need escaping and values the text format writes in exponent form."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from pcinet.scheduler import Snapshot
from pcinet.service.metrics import Metrics
from pcinet.service.metrictext import HELP, HOST_STATES, STATES, usage_text
from pcinet.service.usage import Counts, HostUsage, physnet_totals


def reference(rows: list[HostUsage]) -> bytes:
    families = {
        name: GaugeMetricFamily(name, HELP[name], labels=labels)
        for name, labels in (
            ("pcinet_vfs", ["host", "pf", "physnet", "state"]),
            ("pcinet_pfs", ["host", "physnet", "state"]),
            ("pcinet_hosts", ["state"]),
            ("pcinet_physnet_vfs", ["physnet", "state"]),
            ("pcinet_physnet_pfs", ["physnet", "state"]),
        )
    }
    hosts = dict.fromkeys(HOST_STATES, 0)
    for host in rows:
        hosts["disabled" if host.disabled else "down" if host.down else "enabled"] += 1
        for (pf, physnet), counts in sorted(host.vfs.items()):
            for state in STATES:
                families["pcinet_vfs"].add_metric(
                    [host.name, pf, physnet, state], getattr(counts, state)
                )
        for physnet, counts in sorted(host.pfs.items()):
            for state in STATES:
                families["pcinet_pfs"].add_metric(
                    [host.name, physnet, state], getattr(counts, state)
                )
    for state, n in hosts.items():
        families["pcinet_hosts"].add_metric([state], n)
    for physnet, (vfs, pfs) in physnet_totals(rows).items():
        for state in STATES:
            families["pcinet_physnet_vfs"].add_metric([physnet, state], getattr(vfs, state))
            families["pcinet_physnet_pfs"].add_metric([physnet, state], getattr(pfs, state))

    class Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            yield from families.values()

    registry = CollectorRegistry()
    registry.register(Fixed())
    return generate_latest(registry)


def test_the_text_is_what_prometheus_client_writes() -> None:
    rows = [
        HostUsage(
            'cn"1\\a\nb',
            disabled=False,
            down=False,
            vfs={
                ("0000:3b:00.0", "phy1"): Counts(7, 1, 0, 0),
                ("0000:3c:00.0", ""): Counts(0, 0, 8, 0),
            },
            pfs={"phy1": Counts(0, 0, 1, 0), "": Counts(0, 1, 0, 0)},
        ),
        HostUsage(
            "cn2",
            disabled=True,
            down=True,
            vfs={("0000:3b:00.0", "phy1"): Counts(0, 3, 0, 12_345_678)},
            pfs={"phy1": Counts(0, 0, 1, 0)},
        ),
        HostUsage("cn3", disabled=False, down=True),
    ]
    assert usage_text(rows).encode() == reference(rows)
    assert usage_text([]).encode() == reference([])


def test_a_scrape_has_every_family_once() -> None:
    metrics = Metrics()
    metrics.watch(lambda f: f(Snapshot()), lambda: ({"phy1": 3}, {}))
    text = metrics.exposition().decode()
    for name in (*HELP, "pcinet_vlans_used", "pcinet_ports", "pcinet_placements_total"):
        assert text.count(f"# TYPE {name} ") == 1, name
