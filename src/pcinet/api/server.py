"""Running the API: in the foreground (``pcinet serve``) or in a background thread (the
demo, the benchmarks, tests)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from pcinet.api.app import create_app
from pcinet.config import Settings
from pcinet.service.controller import Controller

START_TIMEOUT_S = 30.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def serve(settings: Settings, *, host: str, port: int, log_level: str = "info") -> None:
    uvicorn.run(create_app(settings, settle=True), host=host, port=port, log_level=log_level)


@contextmanager
def background(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int | None = None,
    controller: Controller | None = None,
    app: FastAPI | None = None,
) -> Iterator[str]:
    """Serve in a daemon thread; yield the base URL once ``/healthz`` answers; stop on exit.
    ``app``: this application of ``settings`` (e.g. with a test's extra route)."""
    # IPPROTO_TCP, not 0: accepted sockets inherit the protocol number, and asyncio sets
    # TCP_NODELAY only on IPPROTO_TCP sockets; without it every keep-alive request waits
    # ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port or 0))  # bound here, so parallel runs cannot race for a port
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app or create_app(settings, controller=controller),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,  # leave the process's logging as it is
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="pcinet-api", daemon=True
    )
    thread.start()
    url = f"http://{host}:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            if not thread.is_alive():
                raise RuntimeError(f"the API server on {url} stopped while starting")
            try:
                if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API server on {url} did not start in {START_TIMEOUT_S}s")
            time.sleep(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
