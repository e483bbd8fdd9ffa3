"""``hosts.cells_used`` arithmetic in SQL, so a claim or release changes a host's NUMA cell
usage inside its one compare-and-swap UPDATE instead of reading the JSON first.

``cells_used`` is ``{"<cell id>": {"vcpus": n, "memory_mb": m}}``; ``add_cells(dialect, n)``
is an expression adding the bound deltas ``cv<i>``/``cm<i>`` to cell ``ck<i>`` for i < n
(a missing cell counts as zero), with jsonb on PostgreSQL and JSON1 on SQLite.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from pcinet.store.models import host_table

CellUse = tuple[int, int, int]  # (host cell id, vcpus, memory_mb), as Snapshot.claim takes
_FIELDS = ("vcpus", "memory_mb")


def cell_params(cells: Sequence[CellUse], sign: int) -> tuple[int, dict[str, Any]]:
    """The number of distinct host cells and the bind values for ``add_cells``: per host
    cell (summed), ``sign`` times the amounts."""
    totals: dict[int, list[int]] = {}
    for cell_id, vcpus, memory in cells:
        entry = totals.setdefault(cell_id, [0, 0])
        entry[0] += vcpus
        entry[1] += memory
    params: dict[str, Any] = {}
    for i, (cell_id, (vcpus, memory)) in enumerate(sorted(totals.items())):
        params.update({f"ck{i}": str(cell_id), f"cv{i}": sign * vcpus, f"cm{i}": sign * memory})
    return len(totals), params


def _delta(i: int, field: str) -> sa.BindParameter[int]:
    return sa.bindparam(f"{'cv' if field == 'vcpus' else 'cm'}{i}", type_=sa.Integer)


def _key(i: int) -> sa.BindParameter[str]:
    return sa.bindparam(f"ck{i}", type_=sa.String)


@lru_cache(maxsize=32)
def add_cells(dialect: str, count: int) -> sa.ColumnElement[Any]:
    col = host_table.c.cells_used
    if dialect == "postgresql":
        jb = sa.cast(col, postgresql.JSONB)
        pairs: list[Any] = []
        for i in range(count):
            fields: list[Any] = []
            for name in _FIELDS:
                now = sa.cast(jb.op("->")(_key(i)).op("->>")(sa.literal(name)), sa.Integer)
                fields += [sa.literal(name), sa.func.coalesce(now, 0) + _delta(i, name)]
            pairs += [_key(i), sa.func.jsonb_build_object(*fields)]
        return sa.cast(jb.op("||")(sa.func.jsonb_build_object(*pairs)), sa.JSON)
    args: list[Any] = [col]
    for i in range(count):
        path = sa.literal('$."') + _key(i) + sa.literal('"')
        fields = []
        for name in _FIELDS:
            stored = sa.func.json_extract(col, path + sa.literal(f".{name}"))
            fields += [sa.literal(name), sa.func.coalesce(stored, 0) + _delta(i, name)]
        args += [path, sa.func.json_object(*fields)]
    return sa.func.json_set(*args)
