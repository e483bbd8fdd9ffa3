"""The agent's loop: scan the host, report it (or heartbeat), read the desired VF state,
reconcile, report what it did; again every ``interval`` seconds.

- The inventory is reported when it differs from the last one the controller accepted
  (VFs that appear after ``sriov_numvfs`` is raised are reported on the next pass, without
  a restart); otherwise a heartbeat keeps the host schedulable.
- A report the controller refuses because it would drop a device a server holds (409
  ``device_in_use``) is logged, kept as ``conflict`` in every pass's summary and retried;
  the device's VF is reported as an error on its port by the reconcile pass (it is not on
  the host any more); nothing is dropped silently.
- Any failure to reach the controller (refused, reset, 5xx) ends the pass; the next one
  comes after an exponential backoff with jitter (1 s doubling up to ``max_backoff``), so a
  restarted controller is not hit by every agent at once.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pcinet.agent.driver import VfDriver, VfRef
from pcinet.agent.fake import FakeDriver
from pcinet.agent.reconcile import Desired, reconcile
from pcinet.agent.state import AgentState
from pcinet.client import ApiError, Client
from pcinet.core.errors import InvalidInput
from pcinet.core.vf import VfConfig

log = logging.getLogger("pcinet.agent")

MAX_BACKOFF_S = 60.0


@dataclass(frozen=True, slots=True)
class HostScan:
    """What discovery found: the inventory report (``PUT /v1/hosts/{name}``'s body), every
    VF with a PF netdev, and the VFs' own MACs (for a fake VF's first settings)."""

    report: Mapping[str, Any]
    vfs: Mapping[str, VfRef]
    macs: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


Scanner = Callable[[], HostScan]


def retryable(exc: ApiError) -> bool:
    """Worth trying again later: no answer, or the controller failing (5xx)."""
    return exc.status == 0 or exc.status >= 500


class Agent:
    def __init__(
        self,
        client: Client,
        host: str,
        driver: VfDriver,
        state: AgentState,
        scan: Scanner,
        *,
        interval: float = 10.0,
        max_backoff: float = MAX_BACKOFF_S,
        seed: int | None = None,
    ) -> None:
        self.client, self.host, self.driver, self.state, self.scan = (
            client,
            host,
            driver,
            state,
            scan,
        )
        self.interval, self.max_backoff = interval, max_backoff
        self.random = random.Random(seed)
        self.reported: Mapping[str, Any] | None = None  # the last report accepted
        self.conflict: str | None = None
        self.failures = 0
        self.passes = 0

    # -- one pass ---------------------------------------------------------------------

    def run_pass(self) -> dict[str, Any]:
        """One full pass; ApiError when the controller cannot be reached (or fails)."""
        scan = self.scan()
        self._remember(scan)
        inventory = self._report(scan)
        feed = self.client.get_vf_state(self.host)
        rows = []
        for item in feed.get("vfs", []):
            try:
                rows.append(Desired.from_feed(item))
            except (InvalidInput, KeyError, TypeError, ValueError) as exc:
                log.error("ignoring a VF-state row the agent cannot read: %s", exc)
        result = reconcile(self.driver, self.state, rows)
        sent = 0
        for report in result.reports:
            try:
                self.client.report_vf_state(
                    self.host,
                    report.address,
                    report.generation,
                    report.status,
                    report.error,
                    original=None if report.original is None else report.original.to_dict(),
                )
                sent += 1
            except ApiError as exc:
                if retryable(exc):
                    raise
                log.warning("VF %s: report refused: %s", report.address, exc.message)
        for address, reason in sorted(result.errors.items()):
            log.error("VF %s: %s", address, reason)
        self.passes += 1
        return {
            "host": self.host,
            "inventory": inventory,
            "conflict": self.conflict,
            "vfs": len(scan.vfs),
            "owned": len(self.state.owned),
            "changed": result.changed,
            "errors": result.errors,
            "reports": sent,
            "problems": list(scan.problems),
        }

    def _remember(self, scan: HostScan) -> None:
        """Keep the host's VFs in the state file; a fake driver gets the new ones."""
        if isinstance(self.driver, FakeDriver):
            for address, ref in scan.vfs.items():
                mac = scan.macs.get(address)
                self.driver.ensure([ref], VfConfig(mac=mac) if mac else None)
        if dict(scan.vfs) != self.state.vfs or self.state.host != self.host:
            self.state.vfs = dict(scan.vfs)
            self.state.host, self.state.driver = self.host, self.driver.name
            self.state.save()

    def _report(self, scan: HostScan) -> str:
        """Report the inventory if it changed (``reported``), else heartbeat
        (``unchanged``); ``conflict`` when the controller refused it."""
        if scan.report != self.reported:
            try:
                self.client.put_host(self.host, scan.report)
            except ApiError as exc:
                if retryable(exc) or exc.code != "device_in_use":
                    raise
                if exc.message != self.conflict:
                    log.error("inventory refused, a device in use would be dropped: %s", exc)
                self.conflict = exc.message
            else:
                if self.conflict:
                    log.info("inventory accepted again")
                self.reported, self.conflict = dict(scan.report), None
                return "reported"
        elif self.conflict:  # back to what the controller has: nothing is refused now
            log.info("inventory back to the one the controller holds")
            self.conflict = None
        try:
            self.client.heartbeat(self.host)
        except ApiError as exc:
            if exc.code == "not_found":  # the host was deleted: report it again
                self.reported = None
            raise
        return "conflict" if self.conflict else "unchanged"

    # -- the loop ---------------------------------------------------------------------

    def next_delay(self) -> float:
        """The wait before the next pass: ``interval`` (with 10% jitter) after a good pass,
        a jittered exponential backoff after failures."""
        if self.failures == 0:
            return self.interval * self.random.uniform(0.9, 1.1)
        ceiling = min(self.max_backoff, 2.0 ** (self.failures - 1))
        return ceiling * self.random.uniform(0.5, 1.0)

    def run(self, stop: threading.Event) -> None:
        """Pass after pass until ``stop`` is set (SIGTERM); never raises on the
        controller's failures."""
        while not stop.is_set():
            try:
                summary = self.run_pass()
            except ApiError as exc:
                self.failures += 1
                log.warning("pass failed (%s): %s", exc.code, exc.message)
            else:
                if self.failures:
                    log.info("controller reachable again after %d failures", self.failures)
                self.failures = 0
                if summary["changed"] or summary["reports"]:
                    log.info(
                        "programmed %d VFs, %d reports, %d errors",
                        len(summary["changed"]),
                        summary["reports"],
                        len(summary["errors"]),
                    )
            stop.wait(self.next_delay())
