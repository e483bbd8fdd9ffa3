"""The unit of work: one transaction, all or nothing.

>>> with UnitOfWork(sessions) as session:      # doctest: +SKIP
...     host = hosts.get_host(session, "compute-1")

On a normal exit the touched hosts are published to the change feed and the transaction
commits; on an exception it rolls back and nothing of it is written. A read-only unit of
work reads one consistent snapshot (SQLite deferred transaction; PostgreSQL REPEATABLE READ
READ ONLY) and never commits.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker

from pcinet.store.changes import publish
from pcinet.store.db import readonly_options


class UnitOfWork:
    """Single use. ``published_seq`` is the change sequence number this unit of work
    published on commit (None if it changed no host), so a replica can tell its own changes
    from others' in the feed."""

    def __init__(self, sessions: sessionmaker[Session], *, readonly: bool = False) -> None:
        self._sessions = sessions
        self.readonly = readonly
        self.published_seq: int | None = None
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
            if exc_type is None and not self.readonly:
                self.published_seq = publish(session)
                session.commit()
            else:
                session.rollback()
        finally:
            session.close()
