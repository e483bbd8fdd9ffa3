"""The VF driver interface: read a PF's VFs back, program some settings of one VF.

Two implementations: ``netlink`` (``pcinet.agent.netlink``, pyroute2 on the PF netdev) and
``fake`` (``pcinet.agent.fake``, VF state in files of the state directory).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pcinet.core.errors import PcinetError
from pcinet.core.vf import VfConfig

DRIVERS = ("netlink", "fake")


@dataclass(frozen=True, slots=True)
class VfRef:
    """Where a VF is: its PCI address, its PF's netdev and its index under that PF."""

    address: str
    pf: str
    vf_index: int

    def __str__(self) -> str:
        return f"{self.address} ({self.pf} vf {self.vf_index})"


class VfError(PcinetError):
    """The device refused (or cannot take) a setting; the message says which and why."""

    code = "vf_error"


class VfDriver(Protocol):
    name: str

    def read_pf(self, pf: str) -> dict[int, VfConfig]:
        """Every VF of the PF netdev ``pf`` as the device reports it, by VF index. VfError
        if there is no such PF."""
        ...

    def apply(self, vf: VfRef, groups: Mapping[str, Mapping[str, Any]]) -> None:
        """Program the settings of ``groups`` (``pcinet.core.vf.changes``' shape) on one
        VF, group by group in order; VfError naming the group at the first refusal."""
        ...

    def close(self) -> None: ...


def open_driver(name: str, state_dir: str) -> VfDriver:
    """The driver called ``name`` (one of ``DRIVERS``)."""
    if name == "fake":
        from pcinet.agent.fake import FakeDriver

        return FakeDriver(state_dir)
    if name == "netlink":
        from pcinet.agent.netlink import NetlinkDriver

        return NetlinkDriver()
    raise ValueError(f"unknown VF driver {name!r}: expected one of {', '.join(DRIVERS)}")
