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
    return _write(directory, files)


def _write(directory: Path, files: dict[str, bytes]) -> list[Path]:
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


def nova_time_plot(timing: Sequence[dict[str, Any]]) -> bytes:
    """Per-decision time, Nova's PCI filter against pcinet's decision, by cloud size."""
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    sizes = [f"{t['hosts']:,} hosts" for t in timing]
    x = range(len(sizes))
    series = [
        ("Nova p50", "nova_ms_p50", "#ff7f0e", -0.3),
        ("pcinet p50", "pcinet_ms_p50", "#98df8a", 0.0),
        ("pcinet p99", "pcinet_ms_p99", "#2ca02c", 0.3),
    ]
    for label, key, color, dx in series:
        values = [t[key] for t in timing]
        bars = ax.bar([i + dx for i in x], values, 0.3, label=label, color=color)
        ax.bar_label(bars, [f"{v:,.0f}" if v >= 100 else f"{v:.3g}" for v in values], fontsize=7)
    ax.set_yscale("log")
    ax.set_xticks(list(x), sizes)
    ax.set_ylabel("ms per decision (wall)")
    ax.set_title("Nova 34 PciDeviceStats filter vs pcinet decide")
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return _png(fig)


def nova_answers_plot(answers: dict[str, Any]) -> bytes:
    """Wrong answers on the same (host, request) pairs, by kind."""
    fig, ax = plt.subplots(figsize=(6.4, 3.0))
    kinds = [
        ("refused, first segment", answers["nova_fn_first_segment"], 0),
        ("refused, greedy order", answers["nova_fn_greedy"], 0),
        ("accepted, claim fails", answers["nova_false_positives"], 0),
    ]
    pcinet = [answers["pcinet_false_negatives"], 0, answers["pcinet_false_positives"]]
    labels = [k for k, _, _ in kinds]
    x = range(len(labels))
    nova_bars = ax.bar(
        [i - 0.2 for i in x], [n for _, n, _ in kinds], 0.4, label="Nova 34", color="#ff7f0e"
    )
    ours = ax.bar([i + 0.2 for i in x], pcinet, 0.4, label="pcinet", color="#2ca02c")
    ax.bar_label(nova_bars, fontsize=8)
    ax.bar_label(ours, fontsize=8)
    ax.set_xticks(list(x), labels, fontsize=8)
    ax.set_ylabel("host/request pairs")
    ax.set_title(f"{answers['pairs']} pairs, {answers['feasible']} feasible (brute force)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def write_nova_report(directory: Path, result: dict[str, Any]) -> list[Path]:
    if directory.exists() and not directory.is_dir():
        raise InvalidInput(f"--report: {directory} exists and is not a directory", field="report")
    files = {
        "nova-time.png": nova_time_plot(result["timing"]),
        "nova-answers.png": nova_answers_plot(result["answers"]),
        "bench-nova.json": (json.dumps(result, indent=2) + "\n").encode(),
    }
    return _write(directory, files)
