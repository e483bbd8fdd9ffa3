"""The device and host gauges of ``/metrics``, written straight as Prometheus text (format
0.0.4): the same bytes prometheus-client's ``generate_latest`` writes for the same gauge
families (a test checks it), without its per-sample generic work (label names validated and
escaped, a sample object per value), which was most of a scrape's time at 1,000 hosts
(docs/benchmarks.md). Series: see ``service.metrics``."""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.utils import floatToGoString

from pcinet.service.usage import Counts, HostUsage, physnet_totals

STATES = ("free", "allocated", "unavailable", "unschedulable")
HOST_STATES = ("enabled", "disabled", "down")
HELP = {
    "pcinet_vfs": "VFs per PF by state.",
    "pcinet_pfs": "Whole-PF devices by state.",
    "pcinet_hosts": "Compute hosts by state.",
    "pcinet_physnet_vfs": "VFs per physnet by state.",
    "pcinet_physnet_pfs": "Whole-PF devices per physnet by state.",
}


def label_value(text: str) -> str:
    """A label value as the text format escapes it (backslash, newline, double quote)."""
    return text.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class _Writer:
    def __init__(self) -> None:
        self.out: list[str] = []
        self._values: dict[int, str] = {}

    def head(self, name: str) -> None:
        self.out.append(f"# HELP {name} {HELP[name]}\n# TYPE {name} gauge\n")

    def value(self, n: int) -> str:
        text = self._values.get(n)
        if text is None:
            text = self._values[n] = floatToGoString(n)  # type: ignore[no-untyped-call]
        return text

    def states(self, prefix: str, counts: Counts) -> None:
        """One sample per state: ``prefix`` ends with ``state="``."""
        values = (counts.free, counts.allocated, counts.unavailable, counts.unschedulable)
        self.out.extend(
            f'{prefix}{state}"}} {self.value(n)}\n' for state, n in zip(STATES, values, strict=True)
        )


def usage_text(hosts: Iterable[HostUsage]) -> str:
    """``pcinet_vfs``, ``pcinet_pfs``, ``pcinet_hosts``, ``pcinet_physnet_vfs`` and
    ``pcinet_physnet_pfs`` for ``hosts`` (``service.usage``), in the text format."""
    rows = list(hosts)
    w = _Writer()
    w.head("pcinet_vfs")
    for host in rows:
        h = label_value(host.name)
        for (pf, physnet), counts in sorted(host.vfs.items()):
            w.states(
                f'pcinet_vfs{{host="{h}",pf="{label_value(pf)}",'
                f'physnet="{label_value(physnet)}",state="',
                counts,
            )
    w.head("pcinet_pfs")
    for host in rows:
        h = label_value(host.name)
        for physnet, counts in sorted(host.pfs.items()):
            w.states(f'pcinet_pfs{{host="{h}",physnet="{label_value(physnet)}",state="', counts)
    w.head("pcinet_hosts")
    states = dict.fromkeys(HOST_STATES, 0)
    for host in rows:
        states["disabled" if host.disabled else "down" if host.down else "enabled"] += 1
    w.out.extend(f'pcinet_hosts{{state="{s}"}} {w.value(n)}\n' for s, n in states.items())
    totals = physnet_totals(rows)
    for family, index in (("pcinet_physnet_vfs", 0), ("pcinet_physnet_pfs", 1)):
        w.head(family)
        for physnet, pair in totals.items():
            w.states(f'{family}{{physnet="{label_value(physnet)}",state="', pair[index])
    return "".join(w.out)
