"""Nova's ``[pci] alias`` and the flavor extra spec ``pci_passthrough:alias``.

An alias names a kind of device a flavor can ask for. Entries that repeat a name are
alternatives (any one will do); they must agree on ``device_type`` and ``numa_policy``.
The extra spec ``"gpu:2, nic:1"`` asks for 2 devices of alias ``gpu`` and 1 of ``nic``,
which become one ``PciRequest`` per entry, in order::

    >>> aliases = parse_aliases(['{"name": "gpu", "vendor_id": "10de", "product_id": "2236"}'])
    >>> [(r.source, r.count, r.numa_policy.value)
    ...  for r in alias_requests({"pci_passthrough:alias": "gpu:2"}, aliases)]
    [('gpu', 2, 'legacy')]
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pcinet.core.boolean import strict_bool
from pcinet.core.errors import InvalidAlias, InvalidFlavor
from pcinet.core.limits import load_json
from pcinet.core.pci import DevType
from pcinet.core.request import DeviceMatcher, NumaPolicy, PciRequest, RequestKind
from pcinet.core.schema import AliasFile, check_keys

ALIAS_EXTRA_SPEC = "pci_passthrough:alias"
NUMA_POLICY_EXTRA_SPEC = "hw:pci_numa_affinity_policy"
_ID_RE = re.compile(r"[0-9a-fA-F]{4}")
_ENTRY_RE = re.compile(r"\s*([^:,]*?)\s*:\s*([0-9]+)\s*")
_MAX_NAME = 256
MAX_ALIAS_COUNT = 1024  # devices of one alias in one server


@dataclass(frozen=True, slots=True)
class AliasSpec:
    """One alternative of an alias. ``None`` fields do not constrain."""

    vendor_id: str | None = None
    product_id: str | None = None
    device_type: DevType | None = None
    numa_policy: NumaPolicy = NumaPolicy.LEGACY
    resource_class: str | None = None
    traits: frozenset[str] = frozenset()
    live_migratable: bool | None = None

    def matcher(self) -> DeviceMatcher:
        """The devices this alternative accepts.

        Without a ``device_type``, PFs are left out (Nova drops PF pools unless a request
        asks for ``type-PF``), and remote-managed devices are kept for remote-managed ports.
        """
        types = {self.device_type} if self.device_type else {DevType.PCI, DevType.VF}
        return DeviceMatcher(
            dev_types=frozenset(types),
            vendor_id=self.vendor_id,
            product_id=self.product_id,
            physnets=None,
            trusted=None,
            remote_managed=False,
            resource_class=self.resource_class,
            traits=self.traits,
        )


@dataclass(frozen=True, slots=True)
class Alias:
    name: str
    specs: tuple[AliasSpec, ...]

    @property
    def device_type(self) -> DevType | None:
        return self.specs[0].device_type

    @property
    def numa_policy(self) -> NumaPolicy:
        return self.specs[0].numa_policy


def _string(data: Mapping[str, Any], key: str, where: str, label: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidAlias(
            f"{where}.{key}: expected a string, got {value!r}{label}", field=f"{where}.{key}"
        )
    return value


def _choice(
    data: Mapping[str, Any], key: str, allowed: Sequence[str], where: str, label: str
) -> str | None:
    value = _string(data, key, where, label)
    if value is not None and value not in allowed:
        raise InvalidAlias(
            f"{where}.{key}: {value!r} is not one of {', '.join(allowed)}{label}",
            field=f"{where}.{key}",
        )
    return value


def _parse_alias(data: Any, where: str) -> tuple[str, AliasSpec]:
    if isinstance(data, str):
        data = load_json(data, where, error=InvalidAlias)
    if not isinstance(data, Mapping):
        raise InvalidAlias(f"{where}: expected an object, got {data!r}", field=where)
    raw_name = data.get("name")
    name = raw_name.strip() if isinstance(raw_name, str) else ""
    if not name or len(name) > _MAX_NAME or any(c in name for c in ":,"):
        raise InvalidAlias(
            f"{where}.name: expected a name of 1 to {_MAX_NAME} characters without ':' or ',', "
            f"got {raw_name!r}",
            field=f"{where}.name",
        )
    label = f" (alias {name!r})"
    check_keys(data, AliasFile, where, error=InvalidAlias, suffix=label, required=False)
    _choice(data, "capability_type", ("pci",), where, label)
    ids: dict[str, str | None] = {}
    for key in ("vendor_id", "product_id"):
        value = _string(data, key, where, label)
        if value is not None and not _ID_RE.fullmatch(value):
            raise InvalidAlias(
                f"{where}.{key}: {value!r} is not 4 hex digits{label}", field=f"{where}.{key}"
            )
        ids[key] = value.lower() if value is not None else None
    device_type = _choice(data, "device_type", [t.value for t in DevType], where, label)
    numa_policy = _choice(data, "numa_policy", [p.value for p in NumaPolicy], where, label)
    resource_class = _string(data, "resource_class", where, label)
    if resource_class is not None and not resource_class.strip():
        field = f"{where}.resource_class"
        raise InvalidAlias(f"{field}: must not be empty{label}", field=field)
    traits = _string(data, "traits", where, label) or ""
    live_migratable: bool | None = None
    if data.get("live_migratable") is not None:
        live_migratable = strict_bool(
            data["live_migratable"],
            field=f"{where}.live_migratable",
            error=InvalidAlias,
            ints=True,
            suffix=label,
        )
    return name, AliasSpec(
        vendor_id=ids["vendor_id"],
        product_id=ids["product_id"],
        device_type=DevType(device_type) if device_type else None,
        numa_policy=NumaPolicy(numa_policy) if numa_policy else NumaPolicy.LEGACY,
        resource_class=resource_class.strip() if resource_class is not None else None,
        traits=frozenset(t.strip() for t in traits.split(",") if t.strip()),
        live_migratable=live_migratable,
    )


def parse_aliases(
    items: Sequence[Mapping[str, Any] | str], *, where: str = "alias"
) -> dict[str, Alias]:
    """Parse ``[pci] alias`` entries (objects, or JSON text of one) into aliases by name.

    Errors name ``where[i].<property>`` and the alias.
    """
    specs: dict[str, list[AliasSpec]] = {}
    first_index: dict[str, int] = {}
    for i, item in enumerate(items):
        name, spec = _parse_alias(item, f"{where}[{i}]")
        if name not in specs:
            specs[name], first_index[name] = [spec], i
            continue
        first = specs[name][0]
        for prop in ("device_type", "numa_policy"):
            mine, theirs = getattr(spec, prop), getattr(first, prop)
            if mine != theirs:
                field = f"{where}[{i}].{prop}"
                raise InvalidAlias(
                    f"{field}: alias {name!r} repeats with {prop} {_show(mine)}, but "
                    f"{where}[{first_index[name]}] has {_show(theirs)}; the alternatives of "
                    "one alias must agree",
                    field=field,
                )
        specs[name].append(spec)
    return {name: Alias(name, tuple(alts)) for name, alts in specs.items()}


def _show(value: object) -> str:
    return "(none)" if value is None else str(value)


def parse_alias_extra_spec(value: str, *, field: str = ALIAS_EXTRA_SPEC) -> list[tuple[str, int]]:
    """Parse ``name:count(,name:count)*`` (spaces allowed around items) into (name, count).

    >>> parse_alias_extra_spec("gpu:2, nic : 1")
    [('gpu', 2), ('nic', 1)]
    """
    if not isinstance(value, str):
        raise InvalidFlavor(f"{field}: expected a string, got {value!r}", field=field)
    entries: list[tuple[str, int]] = []
    for item in value.split(","):
        m = _ENTRY_RE.fullmatch(item)
        if m is None or not m.group(1):
            raise InvalidFlavor(
                f"{field}: {item.strip()!r} in {value!r} is not name:count "
                "(expected e.g. 'gpu:2, nic:1')",
                field=field,
            )
        digits = m.group(2).lstrip("0") or "0"
        count = int(digits) if len(digits) <= 9 else MAX_ALIAS_COUNT + 1
        if count < 1:
            raise InvalidFlavor(
                f"{field}: the count of {m.group(1)!r} must be a positive integer, got {count}",
                field=field,
            )
        if count > MAX_ALIAS_COUNT:
            shown = digits if len(digits) <= 12 else f"a number of {len(digits)} digits"
            raise InvalidFlavor(
                f"{field}: the count of {m.group(1)!r} is above the limit of "
                f"{MAX_ALIAS_COUNT}, got {shown}",
                field=field,
            )
        entries.append((m.group(1), count))
    return entries


def parse_pci_numa_policy(extra_specs: Mapping[str, Any]) -> NumaPolicy | None:
    """The flavor's ``hw:pci_numa_affinity_policy``, or None when it is not set."""
    value = extra_specs.get(NUMA_POLICY_EXTRA_SPEC)
    if value is None:
        return None
    try:
        return NumaPolicy(value)
    except ValueError:
        key = NUMA_POLICY_EXTRA_SPEC
        raise InvalidFlavor(
            f"{key}: {value!r} is not one of {', '.join(p.value for p in NumaPolicy)}",
            field=key,
        ) from None


def alias_requests(
    extra_specs: Mapping[str, Any], aliases: Mapping[str, Alias]
) -> list[PciRequest]:
    """One request per entry of the flavor's ``pci_passthrough:alias``, in order.

    The NUMA policy is the flavor's ``hw:pci_numa_affinity_policy`` when set, else the alias's.
    """
    override = parse_pci_numa_policy(extra_specs)
    value = extra_specs.get(ALIAS_EXTRA_SPEC)
    if value is None:
        return []
    requests: list[PciRequest] = []
    for name, count in parse_alias_extra_spec(value):
        alias = aliases.get(name)
        if alias is None:
            raise InvalidFlavor(
                f"{ALIAS_EXTRA_SPEC}: PCI alias {name} is not defined", field=ALIAS_EXTRA_SPEC
            )
        requests.append(
            PciRequest(
                kind=RequestKind.ALIAS,
                source=name,
                count=count,
                alternatives=tuple(spec.matcher() for spec in alias.specs),
                numa_policy=override or alias.numa_policy,
            )
        )
    return requests
