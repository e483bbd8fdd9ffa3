"""Likely mistakes in a cloud or request file: valid by Nova's rules, so the planner warns
(on stderr, and as ``warnings`` in ``--json`` output) instead of failing.

- a ``device_spec`` key Nova does not know that looks like a typo of one it does
  (``physcial_network``): Nova keeps it as a tag, and the physnet is silently missing;
- a spec that selects both PFs and VFs although it names neither one PF address nor a
  devname (the idioms for "this PF and its VFs"): a port may then take a whole PF and block
  its VFs, or a VF block its PF, where usually only one kind is meant;
- a flavor extra spec pcinet ignores.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pcinet.core.devspec import DeviceSpec
from pcinet.core.pci import DevType, PciDevice

# What Nova's [pci] device_spec understands (other keys become tags).
NOVA_SPEC_KEYS = (
    "vendor_id",
    "product_id",
    "address",
    "devname",
    "physical_network",
    "trusted",
    "remote_managed",
    "managed",
    "live_migratable",
    "one_time_use",
    "resource_class",
    "traits",
)
# The extra specs pcinet reads (hw:numa_cpus.N and hw:numa_mem.N per guest cell).
USED_EXTRA_SPECS = (
    "hw:numa_nodes",
    "hw:cpu_policy",
    "hw:mem_page_size",
    "hw:pci_numa_affinity_policy",
    "pci_passthrough:alias",
)
_CELL_SPEC_RE = re.compile(r"hw:numa_(cpus|mem)\.[0-9]+")


def spec_key_warnings(items: Sequence[Any], where: str) -> list[str]:
    """Keys of the ``device_spec`` objects in ``items`` that look like typos of Nova's."""
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        for key in item:
            if not isinstance(key, str) or key in NOVA_SPEC_KEYS:
                continue
            close = difflib.get_close_matches(key, NOVA_SPEC_KEYS, n=1, cutoff=0.8)
            if close:
                out.append(
                    f"{where}[{i}].{key}: not a key Nova knows (kept as a tag); "
                    f"did you mean {close[0]}?"
                )
    return out


def pf_and_vf_warnings(
    specs: Sequence[DeviceSpec], selected: Iterable[tuple[PciDevice, int]], where: str
) -> dict[str, str]:
    """Specs (by ``where[i]``) that select both PFs and VFs where one kind is likely meant,
    each with an example; for one host's devices."""
    kinds: dict[int, dict[DevType, str]] = {}
    for device, index in selected:
        kinds.setdefault(index, {}).setdefault(device.dev_type, device.address)
    out = {}
    for index, seen in kinds.items():
        spec = specs[index]
        if (
            DevType.PF in seen
            and DevType.VF in seen
            and not (spec.is_single_address or spec.devname is not None)
        ):
            out[f"{where}[{index}]"] = f"PF {seen[DevType.PF]} and VF {seen[DevType.VF]}"
    return out


def describe_pf_and_vf(spec_where: str, hosts: Sequence[str], example: str) -> str:
    on = hosts[0] if len(hosts) == 1 else f"{len(hosts)} hosts (first {hosts[0]})"
    return (
        f"{spec_where}: selects both PFs and VFs on {on}, e.g. {example}: a port may take a "
        "whole PF and block its VFs; if only one kind is meant, narrow the spec "
        "(the VFs' product_id, or one PF's address)"
    )


def extra_spec_warnings(extra_specs: Mapping[str, Any], where: str) -> list[str]:
    return [
        f"{where}.{key}: pcinet ignores this extra spec"
        for key in extra_specs
        if key not in USED_EXTRA_SPECS and not _CELL_SPEC_RE.fullmatch(key)
    ]
