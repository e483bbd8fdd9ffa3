"""The background server itself (``pcinet.api.server.background``)."""

from __future__ import annotations

import time

from tests.api.conftest import Api, expect


def test_keep_alive_requests_do_not_wait_on_delayed_acks(api: Api) -> None:
    """Without TCP_NODELAY on accepted connections, every request after the first on a
    keep-alive connection waits ~40 ms (Nagle's algorithm against delayed ACKs). The
    fastest of several requests shows it whatever the machine's load."""
    expect(api.get("/v1/networks"), 200)  # the connection is open from here on
    latencies = []
    for _ in range(10):
        started = time.perf_counter()
        expect(api.post("/v1/tokens", {"project_id": "p1"}), 201)
        latencies.append(time.perf_counter() - started)
    assert min(latencies) < 0.03, [f"{s * 1000:.1f} ms" for s in latencies]
