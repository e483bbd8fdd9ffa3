"""The unit of work: one transaction, all or nothing.

>>> with UnitOfWork(sessions) as session:      # doctest: +SKIP
...     host = hosts.get_host(session, "compute-1")

On a normal exit the transaction commits; on an exception it rolls back and nothing of it
is written. A read-only unit of work reads one consistent snapshot (SQLite: a deferred
transaction; PostgreSQL: REPEATABLE READ, READ ONLY) and writes nothing.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, sessionmaker

from pcinet.store.db import readonly_options
from pcinet.store.direct import DirectConnection


class UnitOfWork:
    """Single use: one session, one transaction."""

    def __init__(self, sessions: sessionmaker[Session], *, readonly: bool = False) -> None:
        self._sessions = sessions
        self.readonly = readonly
        self._session: Session | None = None

    def __enter__(self) -> Session:
        if self._session is not None:
            raise RuntimeError("a UnitOfWork is single use")
        session = self._sessions()
        self._session = session
        try:
            if self.readonly:
                session.connection(execution_options=readonly_options(session.get_bind()))
        except BaseException:
            session.close()
            raise
        return session

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self._session
        assert session is not None, "__exit__ without __enter__"
        try:
            if exc_type is None and (not self.readonly or self._enforced_readonly(session)):
                session.commit()
            else:
                if self.readonly:
                    # Keep what was read readable: a rollback would expire loaded objects.
                    session.expunge_all()
                session.rollback()
        finally:
            session.close()

    @staticmethod
    def _enforced_readonly(session: Session) -> bool:
        # PostgreSQL refuses writes in a READ ONLY transaction, so ending one with COMMIT is
        # safe, and cheaper: psycopg forgets its prepared statements on every ROLLBACK.
        return session.get_bind().dialect.name == "postgresql"


# What the store's functions run statements on: a session (its transaction's connection), a
# Core connection, or a direct connection (``store.direct``: the placement hot path).
Executor = Session | Connection | DirectConnection
Conn = Connection | DirectConnection


def connection_of(db: Executor) -> Conn:
    """The connection of a session's transaction, or the connection itself."""
    return db.connection() if isinstance(db, Session) else db
