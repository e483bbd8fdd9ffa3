"""The ``--compare --report DIR`` output: PNG plots (matplotlib, Agg) and a Markdown report.

Everything is rendered in memory first and then written, so a failure leaves no half-made
report behind.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from pcinet.core.errors import InvalidInput
from pcinet.sim.metrics import RunResult

COLORS = {"physnet-blind": "#d62728", "nova": "#ff7f0e", "network-aware": "#2ca02c"}
MAX_POINTS = 400


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    return buf.getvalue()


def placed_plot(summaries: Sequence[dict[str, Any]], bound: int | None) -> bytes:
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    names = [s["strategy"] for s in summaries]
    placed = [s["placed"] for s in summaries]
    binds = [s["bind_failures"] for s in summaries]
    x = range(len(names))
    ax.bar(
        [i - 0.2 for i in x],
        placed,
        0.4,
        label="placed",
        color=[COLORS.get(n, "grey") for n in names],
    )
    ax.bar([i + 0.2 for i in x], binds, 0.4, label="binding failures", color="#7f7f7f")
    if bound is not None:
        ax.axhline(
            bound, color="black", linestyle="--", linewidth=1, label=f"upper bound ({bound})"
        )
    ax.set_xticks(list(x), names)
    ax.set_ylabel("servers")
    ax.set_title(f"{summaries[0]['requests']} arrivals on {summaries[0]['hosts']} hosts")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def latency_plot(summaries: Sequence[dict[str, Any]]) -> bytes:
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    names = [s["strategy"] for s in summaries]
    x = range(len(names))
    ax.bar(
        [i - 0.2 for i in x], [max(s["decision_ms_p50"], 1e-3) for s in summaries], 0.4, label="p50"
    )
    ax.bar(
        [i + 0.2 for i in x], [max(s["decision_ms_p99"], 1e-3) for s in summaries], 0.4, label="p99"
    )
    ax.set_yscale("log")
    ax.set_xticks(list(x), names)
    ax.set_ylabel("ms per decision")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def utilisation_plot(results: Sequence[RunResult]) -> bytes:
    physnets = sorted(results[0].series.used)
    fig, axes = plt.subplots(
        1, len(physnets), figsize=(3.2 * len(physnets), 3.0), sharey=True, squeeze=False
    )
    for ax, physnet in zip(axes[0], physnets, strict=True):
        for r in results:
            times, used = r.series.times, r.series.used[physnet]
            step = max(1, len(times) // MAX_POINTS)
            ax.plot(
                times[::step],
                used[::step],
                label=r.strategy,
                color=COLORS.get(r.strategy),
                linewidth=1,
            )
        ax.set_title(f"VFs in use on {physnet}")
        ax.set_xlabel("time")
        ax.set_ylim(0, 1.05)
    axes[0][0].set_ylabel("share of the physnet's VFs")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    return _png(fig)


def markdown(
    meta: dict[str, Any], summaries: Sequence[dict[str, Any]], optimal: dict[str, Any] | None
) -> str:
    lines = [
        "# pcinet sim: strategies compared",
        "",
        f"Cloud: {meta['hosts']} hosts in {meta['racks']} racks (seed {meta['seed']}), "
        f"VFs per physnet {meta['physnet_vfs']}. Workload: {meta['requests']} arrivals, "
        f"load {meta['load']}{' (trace ' + meta['trace'] + ')' if meta.get('trace') else ''}.",
        "",
        f"Command: `{meta['command']}`",
        "",
        "| strategy | placed | rejected | binding failures | claim failures | retries | "
        "p50 ms | p99 ms | fragmentation |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['strategy']} | {s['placed']} | {s['rejected']} | {s['bind_failures']} | "
            f"{s['claim_failures']} | {s['retries']} | {s['decision_ms_p50']} | "
            f"{s['decision_ms_p99']} | {s['fragmentation']:.1%} |"
        )
    if optimal is not None:
        lines.append(
            f"| optimal (upper bound) | {optimal['placed']} | {optimal['rejected']} | 0 | 0 | 0 | "
            f"- | - | - |"
        )
    lines += [
        "",
        "![placed](placed.png)",
        "",
        "![VF utilisation per physnet](utilisation.png)",
        "",
        "![decision time](latency.png)",
        "",
        "Definitions: `src/pcinet/sim/metrics.py`; the bound and what it relaxes: "
        "`src/pcinet/sim/optimal.py`.",
        "",
    ]
    return "\n".join(lines)


def write_report(
    directory: Path,
    meta: dict[str, Any],
    results: Sequence[RunResult],
    optimal: dict[str, Any] | None,
) -> list[Path]:
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"--report: {directory} exists and is not a directory", field="report")
    summaries = [r.summary() for r in results]
    files = {
        "placed.png": placed_plot(summaries, optimal["placed"] if optimal else None),
        "utilisation.png": utilisation_plot(results),
        "latency.png": latency_plot(summaries),
        "report.md": markdown(meta, summaries, optimal).encode(),
        "results.json": (
            json.dumps({"meta": meta, "results": summaries, "optimal": optimal}, indent=2) + "\n"
        ).encode(),
    }
    try:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in files.items():
            path = directory / name
            tmp = directory / f".{name}.tmp"
            tmp.write_bytes(data)
            tmp.replace(path)
            written.append(path)
    except OSError as exc:
        raise InvalidInput(
            f"--report: cannot write into {directory}: {exc.strerror}", field="report"
        ) from None
    return written
