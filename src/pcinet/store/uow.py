"""The unit of work: one transaction, all or nothing.

>>> with UnitOfWork(sessions) as session:      # doctest: +SKIP
...     host = hosts.get_host(session, "compute-1")

On a normal exit the transaction commits; on an exception it rolls back and nothing of it
is written. A read-only unit of work reads one consistent snapshot (SQLite: a deferred
transaction; PostgreSQL: REPEATABLE READ, READ ONLY) and writes nothing.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from pcinet.store.db import autocommit_options, readonly_options


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


Executor = Session | Connection


def connection_of(db: Executor) -> Connection:
    """The connection of a session's transaction, or the connection itself."""
    return db.connection() if isinstance(db, Session) else db


class CoreUnit:
    """A unit of work on a bare Core connection, for the hot paths (placing a server):
    the same all-or-nothing transaction as ``UnitOfWork`` (SQLite: BEGIN IMMEDIATE), without
    the ORM session's bookkeeping. The store functions that take an ``Executor`` work in it.

    With ``autocommit``, there is no transaction: each statement is its own (and sees its
    own snapshot), which saves the BEGIN and COMMIT of a single-statement read.
    """

    def __init__(self, engine: Engine, *, autocommit: bool = False) -> None:
        self._engine = engine
        self.autocommit = autocommit
        self._conn: Connection | None = None

    def __enter__(self) -> Connection:
        conn = self._engine.connect()
        try:
            if self.autocommit:
                conn = conn.execution_options(**autocommit_options(self._engine))
            conn.begin()
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn = self._conn
        assert conn is not None, "__exit__ without __enter__"
        try:
            if exc_type is None:
                conn.commit()
            else:
                conn.rollback()
        finally:
            conn.close()
