"""Quotas per project: reading and setting limits (admin), and the limits a write enforces.

A controller remembers a project's effective limits for ``CACHE_TTL_S`` seconds, so that a
placement in a project without limits costs no quota query at all; setting a limit forgets
them at once in this process, other replicas see it within ``CACHE_TTL_S``. The counting
itself is never cached: it happens in the writing transaction (``store.quotas.enforce``).
"""

from __future__ import annotations

import time
from typing import Any

from pcinet.service.context import Caller
from pcinet.service.controller import Controller
from pcinet.service.errors import Forbidden
from pcinet.service.inputs.base import parse
from pcinet.service.inputs.quotas import QuotaSet
from pcinet.store import quotas as store_quotas
from pcinet.store.quotas import DEFAULTS, RESOURCES, UNLIMITED, Limits

CACHE_TTL_S = 5.0


def limits_for(ctl: Controller, project_id: str) -> Limits:
    """The project's effective limits (a resource absent: unlimited), remembered briefly."""
    now = time.monotonic()
    hit = ctl.quota_cache.get(project_id)
    if hit is not None and now - hit[0] < CACHE_TTL_S:
        return hit[1]
    with ctl.unit(readonly=True) as session:
        limits = store_quotas.read_limits(session, project_id)
    ctl.quota_cache[project_id] = (now, limits)
    return limits


def _view(ctl: Controller, project_id: str) -> dict[str, Any]:
    with ctl.unit(readonly=True) as session:
        own = store_quotas.own_limits(session, project_id)
        if project_id == DEFAULTS:
            return {"quotas": {r: own.get(r, UNLIMITED) for r in RESOURCES}}
        limits = store_quotas.read_limits(session, project_id)
        usage = store_quotas.usage(session, project_id)
    return {
        "project_id": project_id,
        "quotas": {r: limits.get(r, UNLIMITED) for r in RESOURCES},
        "overrides": {r: own[r] for r in RESOURCES if r in own},
        "usage": usage,
    }


def get(ctl: Controller, caller: Caller, project_id: str) -> dict[str, Any]:
    """A project's effective limits (-1: unlimited), its own overrides and its usage. An
    admin reads any project; a member its own."""
    if not caller.is_admin and not (caller.role == "member" and caller.project_id == project_id):
        raise Forbidden(f"reading the quotas of project {project_id} needs role admin")
    return _view(ctl, project_id)


def put(ctl: Controller, caller: Caller, project_id: str, body: QuotaSet | Any) -> dict[str, Any]:
    """Set (an integer; -1 unlimited) or remove (null) the project's own limits."""
    caller.require("admin", action="setting quotas")
    limits = parse(QuotaSet, body).limits()
    with ctl.unit() as session:
        store_quotas.set_limits(session, project_id, limits)
    ctl.quota_cache.clear()  # the defaults change every project's limits
    return _view(ctl, project_id)


def get_defaults(ctl: Controller, caller: Caller) -> dict[str, Any]:
    caller.require("admin", action="reading the default quotas")
    return _view(ctl, DEFAULTS)


def put_defaults(ctl: Controller, caller: Caller, body: QuotaSet | Any) -> dict[str, Any]:
    return put(ctl, caller, DEFAULTS, body)
