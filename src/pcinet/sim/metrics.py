"""What a simulation run measures, and its JSON summary.

- ``requests``, ``placed``, ``rejected``: arrivals, and those that got (or never got) a host;
- ``bind_failures``: boots whose VF could not reach the port's network, found by binding
  on the host; ``claim_failures``: boots whose device claim failed on the host;
  ``retries``: attempts on another host after such a failure (at most 2 per boot);
- ``decision_ms_p50``/``p99``: the scheduler's time per arrival (all its filter passes;
  claims and bindings on hosts are not included);
- ``fragmentation``: the mean share of free VFs that are *stranded*, on hosts whose free
  vCPUs or memory cannot start even the smallest flavor, sampled over the run;
- utilisation over time: VF units in use per physnet (a whole PF counts as its VFs),
  as a share of that physnet's VFs, after every arrival.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pcinet.sim.strategies import Outcome


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    k = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[k]


@dataclass(slots=True)
class Series:
    """Utilisation per physnet after each arrival, and stranded-VF samples."""

    times: list[float] = field(default_factory=list)
    used: dict[str, list[float]] = field(default_factory=dict)
    stranded: list[tuple[float, int, int]] = field(default_factory=list)


@dataclass(slots=True)
class RunResult:
    strategy: str
    hosts: int
    seed: int
    outcomes: list[Outcome]
    series: Series
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        times = sorted(o.decision_s for o in self.outcomes)
        placed = sum(1 for o in self.outcomes if o.host is not None)
        samples = [s / f for _, s, f in self.series.stranded if f]
        peak = {p: round(max(v, default=0.0), 4) for p, v in self.series.used.items()}
        mean = {p: round(sum(v) / len(v), 4) if v else 0.0 for p, v in self.series.used.items()}
        return {
            "strategy": self.strategy,
            "requests": len(self.outcomes),
            "placed": placed,
            "rejected": len(self.outcomes) - placed,
            "bind_failures": sum(o.bind_failures for o in self.outcomes),
            "retries": sum(o.retries for o in self.outcomes),
            "decision_ms_p50": round(percentile(times, 0.50) * 1000, 3),
            "decision_ms_p99": round(percentile(times, 0.99) * 1000, 3),
            "claim_failures": sum(o.claim_failures for o in self.outcomes),
            "hosts": self.hosts,
            "seed": self.seed,
            "fragmentation": round(sum(samples) / len(samples), 4) if samples else 0.0,
            "utilisation_mean": mean,
            "utilisation_peak": peak,
            "wall_s": round(self.wall_s, 3),
        }
