"""PCI device discovery in sysfs: ``discover(root)`` reads ``<root>/bus/pci/devices``.

Each entry is a device directory (on a real host a symlink into ``<root>/devices/...``;
plain directories are read too). Read per device: ``vendor``, ``device``, ``class``,
``numa_node`` (-1 = unknown), ``sriov_totalvfs``/``sriov_numvfs``, the ``virtfnN`` and
``physfn`` links, the ``driver`` link and ``net/<ifname>/{address,operstate}``.

- A device with ``sriov_totalvfs`` > 0 (or ``virtfnN`` links) is ``type-PF``; one with a
  ``physfn`` link is ``type-VF``, with its PF's address and its index N from the PF's
  ``virtfnN`` link; anything else is ``type-PCI``.
- ``pcie_root`` is the root port the device hangs under, from its real path
  (``devices/pci0000:5d/0000:5d:00.0/...`` gives ``pci0000:5d/0000:5d:00.0``); a device
  directly on the host bridge gives ``pci0000:5d``; a plain directory gives None.
- A device with several network interfaces (``net/`` holding more than one: e.g. a
  ConnectX-3 function with two ports) reports as ``netdev`` (and its ``mac``/``operstate``)
  the one with the lowest ``dev_port`` (the port number the driver gives it; names break a
  tie or stand in when ``dev_port`` is absent), and all of them in ``netdevs``, in that
  order.
- Problems never stop discovery; each is reported with the path at fault:
  an unreadable or malformed ``vendor``/``device``, a dangling entry, or a VF whose PF is
  missing or does not list it skips the device; a VF at or past the PF's ``sriov_numvfs``
  (the kernel is adding or removing VFs) is skipped too; a malformed ``numa_node``, MAC
  or ``sriov_*`` count is reported and read as unknown.

Reading a device's directory is ``sysfsread``'s; the results (``DiscoveredDevice``,
``Discovery``, ``Problem``) are defined in ``discovered`` and exported here.
"""

from __future__ import annotations

import os

from pcinet.core.pci import DevType
from pcinet.inventory.discovered import DiscoveredDevice, Discovery, Problem
from pcinet.inventory.sysfsread import DeviceReader, RawDevice, entries

__all__ = ["DEFAULT_ROOT", "DiscoveredDevice", "Discovery", "Problem", "discover"]

DEFAULT_ROOT = "/sys"


def discover(root: str | os.PathLike[str] = DEFAULT_ROOT) -> Discovery:
    """Every PCI device under ``<root>/bus/pci/devices``, and the problems met on the way."""
    top = os.fspath(root)
    reader = DeviceReader(top)
    raws: dict[str, RawDevice] = {}
    for entry, address in entries(reader, os.path.join(top, "bus", "pci", "devices")):
        raw = reader.read_device(entry, address)
        if raw is not None:
            raws[address] = raw
    links: dict[tuple[str, str], list[int]] = {}  # (PF, VF) -> N of the PF's virtfnN links
    for raw in raws.values():
        for n, vf in raw.virtfns.items():
            links.setdefault((raw.address, vf), []).append(n)
    devices = [d for d in (_classify(reader, raw, raws, links) for raw in raws.values()) if d]
    devices.sort(key=lambda d: d.address)
    return Discovery(tuple(devices), tuple(reader.problems))


def _classify(
    reader: DeviceReader,
    raw: RawDevice,
    raws: dict[str, RawDevice],
    links: dict[tuple[str, str], list[int]],
) -> DiscoveredDevice | None:
    where = raw.path
    parent: str | None = None
    vf_index: int | None = None
    if raw.physfn is not None:
        pf = raws.get(raw.physfn)
        if pf is None:
            reader.problem(
                os.path.join(where, "physfn"), f"its PF {raw.physfn} was not found; VF skipped"
            )
            return None
        indexes = links.get((pf.address, raw.address), [])
        if len(indexes) != 1:
            reader.problem(
                os.path.join(where, "physfn"),
                f"PF {raw.physfn} has {len(indexes)} virtfn links to this VF, not 1; VF skipped",
            )
            return None
        vf_index = indexes[0]
        if pf.numvfs is not None and vf_index >= pf.numvfs:
            reader.problem(
                where,
                f"VF {vf_index} of {raw.physfn} is past its sriov_numvfs ({pf.numvfs}); VF skipped",
            )
            return None
        parent, dev_type = raw.physfn, DevType.VF
    elif raw.totalvfs or raw.virtfns:  # virtfn links show SR-IOV even if the count is garbage
        dev_type = DevType.PF
        count = len(raw.virtfns)
        if raw.numvfs is not None and count != raw.numvfs:
            reader.problem(
                os.path.join(where, "sriov_numvfs"),
                f"{raw.numvfs} VFs enabled but {count} virtfn links (VFs being added or "
                "removed); only VFs below sriov_numvfs are reported",
            )
        for n, vf in sorted(raw.virtfns.items()):
            if vf not in raws:
                reader.problem(os.path.join(where, f"virtfn{n}"), f"VF {vf} was not found")
    else:
        dev_type = DevType.PCI
    return DiscoveredDevice(
        address=raw.address,
        vendor_id=raw.vendor_id,
        product_id=raw.product_id,
        class_code=raw.class_code,
        dev_type=dev_type,
        parent_address=parent,
        vf_index=vf_index,
        numa_node=raw.numa_node,
        netdev=raw.netdev,
        netdevs=raw.netdevs,
        driver=raw.driver,
        mac=raw.mac,
        operstate=raw.operstate,
        pcie_root=raw.pcie_root,
        sriov_totalvfs=raw.totalvfs,
        sriov_numvfs=raw.numvfs,
    )
