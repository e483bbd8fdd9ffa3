"""One reconcile pass: desired state (the controller's VF-state feed) against the actual
state (read back from the device), applying only the differences.

A pass:
1. works out what each VF should be: ``apply`` rows their desired settings; ``restore``
   rows (and VFs the agent owns that the controller no longer mentions) the original
   settings, from the state file, else the ones the controller kept, else a fresh VF's;
2. reads every PF concerned once;
3. saves the original settings of every VF about to be changed for the first time, in one
   atomic write, *before* changing anything;
4. programs the differences VF by VF (a VF that fails is an error on its own port and does
   not stop the others), reads the PFs back and checks each VF against what it should be;
5. saves the state (owners, generations applied; VFs whose restore the controller took in
   are forgotten), and returns the reports the controller has not acknowledged yet.
Run twice on the same input, the second pass changes nothing and reports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pcinet.agent.driver import VfDriver, VfError, VfRef
from pcinet.agent.state import APPLIED, ERROR, PENDING, RESTORED, AgentState, Owned
from pcinet.core.errors import InvalidInput
from pcinet.core.vf import VfConfig, changes, differences

APPLY = "apply"
RESTORE = "restore"


@dataclass(frozen=True, slots=True)
class Desired:
    """One row of ``GET /v1/hosts/{name}/vf-state``."""

    address: str
    port_id: str | None
    action: str
    desired: VfConfig
    generation: int
    applied_generation: int | None = None
    reported_status: str | None = None
    reported_error: str | None = None
    pf: str | None = None
    vf_index: int | None = None
    restore_to: VfConfig | None = None

    @classmethod
    def from_feed(cls, row: Mapping[str, Any]) -> Desired:
        """From the feed's row. For a ``restore``, ``desired`` holds the settings to restore
        to (the originals the controller kept), or is empty when it never got them."""
        where = f"vf-state[{row.get('pci_address')}]"
        action = row.get("action")
        if action not in (APPLY, RESTORE):
            raise InvalidInput(f"{where}.action: {action!r}", field=f"{where}.action")
        desired = VfConfig.from_desired(row.get("desired") or {}, f"{where}.desired")
        vf_index = row.get("vf_index")
        return cls(
            address=str(row["pci_address"]),
            port_id=row.get("port_id"),
            action=str(action),
            desired=desired,
            generation=int(row["generation"]),
            applied_generation=row.get("applied_generation"),
            reported_status=row.get("reported_status"),
            reported_error=row.get("reported_error"),
            pf=row.get("pf"),
            vf_index=int(vf_index) if vf_index is not None else None,
            restore_to=desired if action == RESTORE and row.get("desired") else None,
        )


@dataclass(frozen=True, slots=True)
class Report:
    """What to tell the controller about one VF (``PUT .../vf-state/{address}``)."""

    address: str
    generation: int
    status: str  # applied, restored or error
    port_id: str | None
    error: str | None = None
    original: VfConfig | None = None

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"generation": self.generation, "status": self.status}
        if self.error is not None:
            out["error"] = self.error
        if self.original is not None:
            out["original"] = self.original.to_dict()
        return out


@dataclass(slots=True)
class PassResult:
    reports: list[Report] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # VFs programmed in this pass
    errors: dict[str, str] = field(default_factory=dict)  # address -> reason
    dropped: list[str] = field(default_factory=list)  # owned VFs forgotten (restored)


@dataclass(slots=True)
class _Target:
    address: str
    ref: VfRef | None
    wanted: VfConfig
    row: Desired | None  # None: owned, but the controller no longer mentions it
    error: str | None = None


def _ref(row: Desired, vfs: Mapping[str, VfRef]) -> VfRef | None:
    if row.address in vfs:
        return vfs[row.address]
    if row.pf and row.vf_index is not None:
        return VfRef(row.address, row.pf, row.vf_index)
    return None


def _targets(rows: Sequence[Desired], state: AgentState) -> list[_Target]:
    out: list[_Target] = []
    seen: set[str] = set()
    for row in rows:
        seen.add(row.address)
        owned = state.owned.get(row.address)
        if row.action == APPLY:
            wanted = row.desired
        else:
            wanted = owned.original if owned else row.restore_to or VfConfig()
        target = _Target(row.address, _ref(row, state.vfs), wanted, row)
        if target.ref is None:
            target.error = f"VF {row.address} is not on this host (not found in sysfs)"
        out.append(target)
    for address, owned in state.owned.items():
        if address not in seen and owned.status != RESTORED:
            ref = state.vfs.get(address)
            error = None if ref else f"VF {address} is not on this host (not found in sysfs)"
            out.append(_Target(address, ref, owned.original, None, error))
    return out


def _read(driver: VfDriver, pfs: set[str]) -> tuple[dict[str, dict[int, VfConfig]], dict[str, str]]:
    read: dict[str, dict[int, VfConfig]] = {}
    failed: dict[str, str] = {}
    for pf in sorted(pfs):
        try:
            read[pf] = driver.read_pf(pf)
        except VfError as exc:
            failed[pf] = exc.message
    return read, failed


def _actual(
    target: _Target, read: Mapping[str, Mapping[int, VfConfig]], failed: Mapping[str, str]
) -> VfConfig | None:
    """The VF's settings as read; None (and ``target.error`` set) when unreadable."""
    ref = target.ref
    if ref is None or target.error:
        return None
    if ref.pf in failed:
        target.error = failed[ref.pf]
        return None
    actual = read[ref.pf].get(ref.vf_index)
    if actual is None:
        target.error = f"{ref}: the PF has no such VF (sriov_numvfs lowered?)"
    return actual


def _matches(actual: VfConfig, wanted: VfConfig) -> list[str]:
    """Differences that matter: a setting the device does not report (None) is not one."""
    return [
        d for d in differences(actual, wanted) if not d.startswith(("spoofchk=None", "trust=None"))
    ]


def reconcile(driver: VfDriver, state: AgentState, rows: Sequence[Desired]) -> PassResult:
    """One pass (see the module's docstring). ``state.vfs`` must hold the host's VFs."""
    result = PassResult()
    targets = _targets(rows, state)
    read, failed = _read(driver, {t.ref.pf for t in targets if t.ref and not t.error})

    # Originals first, all at once, before any change.
    plans: list[tuple[_Target, VfConfig, dict[str, dict[str, Any]]]] = []
    new_owners = False
    for target in targets:
        actual = _actual(target, read, failed)
        if actual is None:
            continue
        todo = changes(actual, target.wanted)
        row = target.row
        if row is not None and row.action == APPLY and target.address not in state.owned:
            state.owned[target.address] = Owned(actual, row.port_id)
            new_owners = True
        plans.append((target, actual, todo))
    if new_owners:
        state.save()

    touched: set[str] = set()
    for target, _actual_now, todo in plans:
        if not todo:
            continue
        assert target.ref is not None
        try:
            driver.apply(target.ref, todo)
        except VfError as exc:
            target.error = exc.message
        touched.add(target.ref.pf)
        result.changed.append(target.address)
    reread, refailed = _read(driver, touched)
    read.update(reread)
    failed.update(refailed)

    listed = {r.address for r in rows}
    acknowledged = [a for a, o in state.owned.items() if o.status == RESTORED and a not in listed]
    for address in acknowledged:  # the controller took the restore in: forget the VF
        del state.owned[address]
        result.dropped.append(address)
    dirty = new_owners or bool(acknowledged)
    for target in targets:
        if target.error is None and target.ref is not None:
            after = _actual(target, read, failed)
            if after is not None:
                left = _matches(after, target.wanted)
                if left:
                    target.error = f"{target.ref}: the device kept {', '.join(left)}"
        dirty |= _settle(state, target, result)
    if dirty:
        state.save()
    return result


def _settle(state: AgentState, target: _Target, result: PassResult) -> bool:
    """Record the outcome of ``target`` in ``state`` and ``result``; whether state changed."""
    row, address = target.row, target.address
    owned = state.owned.get(address)
    if target.error is not None:
        result.errors[address] = target.error
    if row is None:  # owned, but no longer mentioned: restored on our own, then forgotten
        if target.error is None:
            del state.owned[address]
            result.dropped.append(address)
            return True
        return False
    before = None if owned is None else owned.to_dict()
    if row.action == APPLY:
        status = ERROR if target.error else APPLIED
        if owned is not None:
            owned.port_id = row.port_id
            owned.status, owned.error = status, target.error
            owned.generation = row.generation if status == APPLIED else owned.generation
    else:
        status = ERROR if target.error else RESTORED
        if owned is not None and status == RESTORED:
            owned.status, owned.error = RESTORED, None
    if row.applied_generation != row.generation or (
        (row.reported_status, row.reported_error) != (status, target.error)
    ):
        original = owned.original if owned is not None and row.action == APPLY else None
        result.reports.append(
            Report(address, row.generation, status, row.port_id, target.error, original)
        )
    return owned is not None and owned.to_dict() != before


__all__ = ["APPLY", "PENDING", "RESTORE", "Desired", "PassResult", "Report", "reconcile"]
