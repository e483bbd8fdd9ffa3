"""Nova's own PCI code on hosts and requests given as JSON (run by Nova's virtualenv).

This file is run, never imported by pcinet: ``.venv-nova/bin/python nova_driver.py IN OUT``
(``make bench-nova`` creates that virtualenv with ``nova`` from PyPI). It imports nothing
of pcinet, and pcinet imports nothing of Nova.

For every host layout it builds what Nova builds:

- on the compute host, ``PciDeviceStats`` over ``PciDevice`` objects selected and tagged
  by ``[pci] device_spec`` (Nova's ``Whitelist``; where Nova reads sysfs to learn whether
  a spec's address is a PF, the answer comes from the layout's device list), with the
  PF/VF device tree;
- in the scheduler, ``PciDeviceStats`` from that host's ``PciDevicePoolList`` (pool
  counts only), as the host manager does.

Modes (``IN["mode"]``):

- ``answers``: for each (layout, request) pair, the scheduler filter's verdict
  (``support_requests``) and the compute claim's (``consume_requests`` then
  ``PciDevice.claim`` of every device), on fresh hosts;
- ``time``: for each request in turn, the PCI filter over every host (each host's
  ``support_requests``, trying the guest's NUMA cell mappings in order), timed; the first
  passing host takes the request (``apply_requests``, as the scheduler does).
"""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
import warnings
from typing import Any

warnings.simplefilter("ignore")
# The claim's failures are logged as errors by Nova; here they are the answers.
logging.disable(logging.CRITICAL)
# Run as a file, this directory would come first on sys.path and shadow Nova's imports.
if sys.path and sys.path[0] and __file__.startswith(sys.path[0]):
    del sys.path[0]

from nova import exception, objects  # noqa: E402
from nova.pci import stats as pci_stats  # noqa: E402
from nova.pci import utils as pci_utils  # noqa: E402
from nova.pci import whitelist  # noqa: E402

objects.register_all()

# Nova asks sysfs whether a device spec's address is a PF (then the spec also selects its
# VFs). The host's sysfs here is the layout's device list: answer from it.
_PFS: set[tuple[int, int, int, int]] = set()


def _address_key(domain: str, bus: str, slot: str, function: str) -> tuple[int, int, int, int]:
    return (int(domain, 16), int(bus, 16), int(slot, 16), int(function, 16))


def _is_physical_function(domain: str, bus: str, slot: str, function: str) -> bool:
    try:
        return _address_key(domain, bus, slot, function) in _PFS
    except ValueError:
        return False


pci_utils.is_physical_function = _is_physical_function


def topology(cells: list[dict[str, Any]]) -> Any:
    return objects.NUMATopology(
        cells=[
            objects.NUMACell(
                id=c["id"],
                socket=c["socket"],
                cpuset=set(range(c["id"] * c["vcpus"], (c["id"] + 1) * c["vcpus"])),
                pcpuset=set(),
                memory=c["memory_mb"],
                cpu_usage=0,
                memory_usage=0,
                pinned_cpus=set(),
                siblings=[],
                mempages=[],
            )
            for c in cells
        ]
    )


def device_objects(layout: dict[str, Any]) -> list[Any]:
    devs = []
    by_address = {}
    for i, d in enumerate(layout["devices"]):
        dev = objects.PciDevice(
            compute_node_id=1,
            id=i + 1,
            address=d["address"],
            vendor_id=d["vendor_id"],
            product_id=d["product_id"],
            dev_type=d["dev_type"],
            status="available",
            parent_addr=d.get("parent_address"),
            numa_node=d.get("numa_node"),
            dev_id="pci_" + d["address"].replace(":", "_").replace(".", "_"),
            label=f"label_{d['vendor_id']}_{d['product_id']}",
            extra_info={},
            request_id=None,
            instance_uuid=None,
        )
        devs.append(dev)
        by_address[dev.address] = dev
    for dev in devs:  # the device tree, as PciDevTracker._build_device_tree makes it
        parent = by_address.get(dev.parent_addr) if dev.parent_addr else None
        if parent is not None:
            dev.parent_device = parent
            parent.child_devices.append(dev)
    return devs


def compute_stats(layout: dict[str, Any]) -> Any:
    _PFS.clear()
    for d in layout["devices"]:
        if d["dev_type"] == "type-PF":
            dom, bus, rest = d["address"].split(":")
            slot, fn = rest.split(".")
            _PFS.add(_address_key(dom, bus, slot, fn))
    specs = [json.dumps(s) for s in layout["device_spec"]]
    stats = pci_stats.PciDeviceStats(
        topology(layout["cells"]), dev_filter=whitelist.Whitelist(specs)
    )
    for dev in device_objects(layout):
        stats.add_device(dev)
    return stats


def scheduler_stats(layout: dict[str, Any], pools: Any) -> Any:
    return pci_stats.PciDeviceStats(topology(layout["cells"]), stats=pools)


def pci_requests(request: dict[str, Any]) -> list[Any]:
    out = []
    for i, r in enumerate(request["pci"]):
        kwargs: dict[str, Any] = {
            "count": r["count"],
            "spec": r["spec"],
            "request_id": f"req-{i}",
            "alias_name": r.get("alias_name"),
        }
        if r.get("numa_policy"):
            kwargs["numa_policy"] = r["numa_policy"]
        out.append(objects.InstancePCIRequest(**kwargs))
    return out


def cells_of(mapping: list[int] | None) -> Any:
    if mapping is None:
        return None
    return [objects.InstanceNUMACell(id=c, cpuset=set(), pcpuset=set(), memory=0) for c in mapping]


def supports(
    stats: Any, reqs: list[Any], mappings: list[list[int] | None]
) -> tuple[bool, list[int] | None]:
    """Whether some cell mapping passes (tried in order, as Nova's NUMA fitting does), and
    the first that does (None: the guest has no NUMA topology)."""
    for mapping in mappings:
        if stats.support_requests(reqs, None, cells_of(mapping)):
            return True, mapping
    return False, None


def answers(data: dict[str, Any]) -> list[dict[str, bool]]:
    out = []
    pools = {k: compute_stats(v).to_device_pools_obj() for k, v in data["layouts"].items()}
    for key, index in data["pairs"]:
        layout = data["layouts"][key]
        request = data["requests"][index]
        reqs = pci_requests(request)
        mappings = request.get("cells") or [None]
        passed, chosen = supports(scheduler_stats(layout, pools[key]), reqs, mappings)
        claim_ok = False
        for mapping in [chosen] if passed else mappings:
            stats = compute_stats(layout)
            try:
                devs = stats.consume_requests(reqs, cells_of(mapping))
                for dev in devs or []:
                    dev.claim("instance-1")
                claim_ok = True
                break
            except (exception.PciDeviceRequestFailed, exception.NovaException):
                continue
        out.append({"filter": passed, "claim": claim_ok})
    return out


def timing(data: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    pools = {k: compute_stats(v).to_device_pools_obj() for k, v in data["layouts"].items()}
    hosts = [
        (name, scheduler_stats(data["layouts"][key], pools[key])) for name, key in data["hosts"]
    ]
    build_s = time.perf_counter() - t0
    gc.collect()
    gc.freeze()
    times = []
    cpu_times = []
    placed = 0
    for request in data["requests"]:
        reqs = pci_requests(request)
        mappings = request.get("cells") or [None]
        t = time.perf_counter()
        c = time.process_time()
        passing = []
        for _name, stats in hosts:
            ok, mapping = supports(stats, reqs, mappings)
            if ok:
                passing.append((stats, mapping))
        cpu_times.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
        if passing:
            stats, mapping = passing[0]
            stats.apply_requests(reqs, None, cells_of(mapping))
            placed += 1
    return {"times_s": times, "cpu_times_s": cpu_times, "placed": placed, "build_s": build_s}


def main() -> None:
    with open(sys.argv[1]) as f:
        data = json.load(f)
    if data["mode"] == "answers":
        result: Any = answers(data)
    else:
        result = timing(data)
    import nova.version

    with open(sys.argv[2], "w") as f:
        json.dump({"nova_version": nova.version.version_string(), "result": result}, f)


if __name__ == "__main__":
    main()
