"""The scheduler: pure, snapshot in, decision out (see ``decide``)."""

from pcinet.scheduler.decide import Decision, Placement, claim_placement, decide
from pcinet.scheduler.filters import PlacementRequest, Rejection
from pcinet.scheduler.snapshot import Snapshot
from pcinet.scheduler.weighers import SchedulerConfig

__all__ = [
    "Decision",
    "Placement",
    "PlacementRequest",
    "Rejection",
    "SchedulerConfig",
    "Snapshot",
    "claim_placement",
    "decide",
]
