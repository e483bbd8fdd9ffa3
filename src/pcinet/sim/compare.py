"""One cloud, one workload, every strategy: the runs behind ``pcinet sim``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pcinet.sim.cloud import Cloud, generate_cloud
from pcinet.sim.limits import DEFAULT_TIME_LIMIT_S
from pcinet.sim.optimal import upper_bound
from pcinet.sim.workload import Workload, capacity, generate_workload, load_trace


@dataclass(frozen=True, slots=True)
class Setup:
    cloud: Cloud
    workload: Workload
    meta: dict[str, Any]


def build(
    *,
    hosts: int,
    requests: int,
    seed: int,
    load: float = 1.2,
    gpus: bool = False,
    trace: Path | None = None,
) -> Setup:
    """The cloud (seed ``seed``) and the workload (seed ``seed + 1``, or the trace)."""
    cloud = generate_cloud(hosts, seed, gpus=gpus)
    vfs = cloud.physnet_vfs()
    if trace is not None:
        workload = load_trace(trace)
    else:
        cap = capacity(sum(vfs.values()), cloud.vcpus())
        workload = generate_workload(requests, seed + 1, capacity=cap, load=load, gpus=gpus)
    meta = {
        "hosts": hosts,
        "racks": len(cloud.racks),
        "seed": seed,
        "physnet_vfs": vfs,
        "requests": len(workload.servers),
        "load": load,
        "gpus": gpus,
        "trace": str(trace) if trace else None,
    }
    return Setup(cloud, workload, meta)


def optimal_summary(setup: Setup, *, time_limit_s: float = DEFAULT_TIME_LIMIT_S) -> dict[str, Any]:
    bound = upper_bound(setup.cloud, setup.workload, time_limit_s=time_limit_s)
    requests = len(setup.workload.servers)
    return {
        "strategy": "optimal",
        "requests": requests,
        "placed": bound["placed"],
        "rejected": requests - bound["placed"],
        "bind_failures": 0,
        "retries": 0,
        # an offline bound makes no online decisions
        "decision_ms_p50": None,
        "decision_ms_p99": None,
        "hosts": setup.meta["hosts"],
        "seed": setup.meta["seed"],
        **{k: v for k, v in bound.items() if k != "placed"},
    }


ProgressFn = Callable[[str, int], None]
