"""The shape of a simulator trace (``pcinet sim --trace FILE``), declared once: which
properties each object has (``parse_trace`` takes its keys from here, and checks what the
values mean against the catalog)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from pcinet.core.schema import Shape


class TracePort(Shape):
    """A port of a traced server."""

    network: str = Field(description="A network of the catalog.")
    vnic_type: str = Field("direct", description="direct, direct-physical or macvtap.")
    trusted: bool = Field(False, description="Asks for a trusted VF.")


class TraceServer(Shape):
    """A server: when it arrives, when it leaves, its flavor and ports."""

    at: float = Field(description="Arrival time (>= 0).")
    leave: float | None = Field(None, description="Departure time; null: it stays.")
    flavor: str = Field(description="A flavor of the catalog.")
    ports: list[TracePort] = Field(default_factory=list, description="Its ports.")


class TraceFile(Shape):
    """A trace: the servers, in any order (they are sorted by arrival)."""

    servers: list[Any] = Field(description="The servers (at most sim.limits.MAX_SERVERS).")
