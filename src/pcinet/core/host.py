"""A host as the scheduler needs it: free compute, NUMA cells, assignable devices."""

from __future__ import annotations

from dataclasses import dataclass

from pcinet.core.pci import PciDevice


@dataclass(frozen=True, slots=True)
class HostCell:
    """One host NUMA cell with its *free* vCPUs and memory, and the socket it sits on."""

    id: int
    vcpus: int
    memory_mb: int
    socket: int | None = None


@dataclass(frozen=True, slots=True)
class Host:
    """A host's free capacity and its assignable devices (already tagged by device specs).

    ``vcpus`` and ``memory_mb`` are free amounts. ``devices`` may include devices whose
    status is ``allocated``; the PF/VF rules are applied by whoever consumes it.
    ``unselected`` are the host's other devices, which no device spec selects: never
    handed out, but an allocated one still blocks its PF or its VFs (the PF/VF rules hold
    over the whole inventory).
    """

    name: str
    vcpus: int
    memory_mb: int
    cells: tuple[HostCell, ...] = ()
    devices: tuple[PciDevice, ...] = ()
    disabled: bool = False
    # No heartbeat within the timeout: not scheduled either, but reported as down.
    down: bool = False
    unselected: tuple[PciDevice, ...] = ()
