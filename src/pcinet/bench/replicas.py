"""Controller replicas as real processes (``pcinet serve`` on one database), for the stress
and crash runs: start, wait until ``/healthz`` answers, kill (any signal), restart, stop.

The settings go through the environment (``PCINET_*``), as an operator would give them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import httpx

from pcinet.api.server import free_port

START_TIMEOUT_S = 60.0
_SERVE = "from pcinet.cli.main import main; main()"
_QUIET = ("--log-level", "warning")


class Replica:
    """One ``pcinet serve`` process on ``127.0.0.1`` and a port of its own (kept across
    restarts, so clients keep their URL). Its output goes to ``log`` (a file path)."""

    def __init__(self, env: Mapping[str, str], log: Path) -> None:
        self.env = {**os.environ, **env}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._out: IO[bytes] | None = None

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError(f"replica on {self.url} is running already")
        self._close_log()
        self._out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _SERVE, "serve", "--port", str(self.port), *_QUIET],
            env=self.env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Until ``/healthz`` answers 200; RuntimeError if the process ends or times out."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process is None or self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"replica on {self.url} exited while starting:\n{tail}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"replica on {self.url} did not start in {timeout_s}s")
            time.sleep(0.05)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` and wait for the process to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def stop(self) -> None:
        """SIGTERM (uvicorn finishes its requests), then SIGKILL if it lingers."""
        self.kill(signal.SIGTERM)
        self._close_log()

    def _close_log(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None


class Replicas:
    """``count`` replicas on one database, started together; stopped on exit."""

    def __init__(self, count: int, env: Mapping[str, str], logs: Path) -> None:
        self.all = [Replica(env, logs / f"replica-{i}.log") for i in range(count)]

    def __enter__(self) -> Self:
        try:
            for replica in self.all:
                replica.start()
            for replica in self.all:
                replica.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        for replica in self.all:
            replica.stop()

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.all]


def server_env(database_url: str, admin_token: str, vlan_ranges: str) -> dict[str, str]:
    """The environment of a replica: its database, admin token and VLAN ranges."""
    return {
        "PCINET_DATABASE_URL": database_url,
        "PCINET_ADMIN_TOKEN": admin_token,
        "PCINET_NETWORK_VLAN_RANGES": vlan_ranges,
        "PCINET_CONFIG": "",
    }
