"""PCI aliases (Nova's ``[pci] alias`` entries), replaced as a whole list."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from pcinet.store.models import Alias
from pcinet.store.uow import Executor, connection_of


def replace_aliases(session: Session, specs: Sequence[Mapping[str, Any]]) -> None:
    """Replace every alias by ``specs`` (validated by the caller; each has a ``name``)."""
    session.execute(sa.delete(Alias))
    session.add_all(
        Alias(position=i, name=str(spec["name"]), spec=dict(spec)) for i, spec in enumerate(specs)
    )
    session.flush()


_ALIASES = sa.select(Alias.__table__.c.spec).order_by(Alias.__table__.c.position)


def list_aliases(session: Executor) -> list[dict[str, Any]]:
    """The alias entries in the order they were given (one statement, built once: it runs
    direct on the placement hot path, ``store.direct``)."""
    return [dict(spec) for spec in connection_of(session).execute(_ALIASES).scalars()]
