"""An independent check of one host's answer: try every assignment of distinct free
devices to the request's slots (small hosts only). Shares nothing with the scheduler's
pools and flows: devices, matchers and the PF/VF rule only."""

from __future__ import annotations

from pcinet.core.errors import InvalidInput
from pcinet.core.host import Host
from pcinet.core.pci import DevType, Inventory, PciDevice
from pcinet.core.request import PciRequest

MAX_DEVICES = 16
MAX_SLOTS = 5


def feasible(host: Host, pci: tuple[PciRequest, ...]) -> bool:
    """Whether distinct free devices can serve every slot, no PF with one of its VFs
    (NUMA is not considered: the hosts checked here have one cell's worth of devices)."""
    free = Inventory(host.devices).free_devices()
    slots = [p for p in pci for _ in range(p.count)]
    if len(free) > MAX_DEVICES or len(slots) > MAX_SLOTS:
        raise InvalidInput(
            f"brute force is for small hosts: at most {MAX_DEVICES} devices and {MAX_SLOTS} "
            f"slots, got {len(free)} and {len(slots)}"
        )
    return _assign(free, slots, [], set())


def _assign(
    free: list[PciDevice], slots: list[PciRequest], chosen: list[PciDevice], used: set[str]
) -> bool:
    if len(chosen) == len(slots):
        pfs = {d.address for d in chosen if d.dev_type is DevType.PF}
        return not any(d.parent_address in pfs for d in chosen)
    want = slots[len(chosen)]
    for dev in free:
        if dev.address in used or not want.matches(
            dev.dev_type, dev.vendor_id, dev.product_id, dev.tags
        ):
            continue
        used.add(dev.address)
        chosen.append(dev)
        if _assign(free, slots, chosen, used):
            return True
        chosen.pop()
        used.discard(dev.address)
    return False
