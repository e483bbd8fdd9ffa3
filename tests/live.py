"""A real controller for tests that talk HTTP.

``LiveServer(settings)`` serves ``create_app(settings)`` with uvicorn in a background thread
on 127.0.0.1 and a free port (``pcinet.api.server.background``), waits for ``/healthz``,
exposes ``.url`` and stops cleanly (``should_exit``, join) when the block ends::

    with LiveServer(live_settings(tmp_path)) as server, Client(server.url, ADMIN_TOKEN) as c:
        c.list_hosts()
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pcinet.api.server import background
from pcinet.config import Settings
from pcinet.service.controller import Controller

ADMIN_TOKEN = "admin-secret"
VLAN_RANGES = "phy1:100:199,phy2:200:299"


class LiveServer:
    """A controller for the length of a ``with`` block. ``controller`` serves an already
    started ``Controller`` instead of starting one from ``settings``."""

    def __init__(self, settings: Settings, *, controller: Controller | None = None) -> None:
        self.settings = settings
        self.controller = controller
        self._stack = ExitStack()
        self._url: str | None = None

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        if self._url is None:
            raise RuntimeError("the live server is not running")
        return self._url

    def __enter__(self) -> Self:
        self._url = self._stack.enter_context(background(self.settings, controller=self.controller))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._url = None
        self._stack.close()


def live_settings(directory: Path, **overrides: Any) -> Settings:
    """Settings for a test controller: a SQLite file in ``directory``, ``VLAN_RANGES`` and
    ``ADMIN_TOKEN`` as admin; ``overrides`` replace any of them."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{directory / 'pcinet.db'}",
        "network_vlan_ranges": VLAN_RANGES,
        "admin_token": ADMIN_TOKEN,
        **overrides,
    }
    return Settings(**values)
