"""Direct execution for the placement hot path: SQLAlchemy statements, compiled by the
engine's dialect once per statement, run on the pooled DBAPI connection.

Why: a Core ``Connection.execute`` spends 30-40 us of Python per statement (execution
context, parameter and result set-up, event dispatch); on SQLite that is more than the
statement itself, and a placement runs five of them plus BEGIN and COMMIT. Measured in
``docs/benchmarks.md`` ("Placement (controller)").

What is kept from SQLAlchemy: the statements are SQLAlchemy constructs; the SQL, the
parameter order and every bind and result processor (JSON, timestamps, ...) are the
dialect's, taken from its compiled form; connections come from the engine's pool with its
on-connect set-up and go back through its reset; DBAPI errors are raised as SQLAlchemy's
exception classes (``sa.exc.IntegrityError``...), a lost connection is invalidated; cursor
events (``before_cursor_execute``/``after_cursor_execute``) are dispatched when listened
to, with the ``DirectConnection`` in place of a ``Connection`` (for the statements and
``BEGIN IMMEDIATE``; a listener's ``retval`` is ignored, and ``handle_error`` and the
transaction events are not dispatched: the unit handles its transaction itself).

What is refused (``ValueError`` when compiling): textual SQL (``sa.text``), expanding IN
parameters and other post-compile parameters, escaped bind names, callable bind values, and
column defaults other than Python scalars and callables (which are called without an
execution context). Statements carry their values: an
``INSERT``/``UPDATE`` without ``.values()`` compiles every column as a required parameter,
not the ones the call passes. ``executemany`` is not offered. Rows are keyed by the column
names the database reports for SQLAlchemy's SQL (its labels: ``id``, ``id_1`` ...).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.sql.compiler import SQLCompiler

from pcinet.store.db import SQLITE_BUSY_TIMEOUT_S, acquire_writer, writer_lock

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Shape:
    row: Any  # a ``row_type``
    processors: tuple[Processor | None, ...]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A statement compiled for one dialect, ready to bind and run on a DBAPI cursor."""

    sql: str
    # Parameter names in the order of the SQL's placeholders (a positional paramstyle), or
    # the names to pass (a named one).
    names: tuple[str, ...]
    positional: bool
    processors: Mapping[str, Processor]
    # Values the statement binds itself (literals) or computes (column defaults).
    static: Mapping[str, Any]
    defaults: Mapping[str, Callable[[], Any]]
    # The result columns' types, for a statement that returns rows (None: no rows).
    result_types: tuple[Any, ...] | None
    # The row type and result processors, from the cursor's description at the first
    # execution (names and type codes: the same SQL always gives the same columns; as
    # SQLAlchemy, which caches a compiled statement's result metadata too).
    shapes: list[_Shape] = field(default_factory=list, compare=False)

    def shape(self, dialect: Dialect, description: Sequence[Any]) -> _Shape:
        if self.shapes:
            return self.shapes[0]
        assert self.result_types is not None
        columns = [(d[0], d[1]) for d in description]
        processors = tuple(
            t.dialect_impl(dialect).result_processor(dialect, code)
            for t, (_, code) in zip(self.result_types, columns, strict=True)
        )
        shape = _Shape(row_type([name for name, _ in columns]), processors)
        self.shapes.append(shape)
        return shape

    def bind(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        values: Mapping[str, Any] = params
        if self.static or self.defaults:
            merged = {**self.static, **params}
            for name, make in self.defaults.items():
                if name not in params:
                    merged[name] = make()
            values = merged
        procs = self.processors
        try:
            if self.positional:
                return tuple(procs[n](values[n]) if n in procs else values[n] for n in self.names)
            return {n: procs[n](values[n]) if n in procs else values[n] for n in self.names}
        except KeyError as exc:
            raise sa.exc.ArgumentError(f"a value is required for bind parameter {exc}") from None


def _default(column: sa.Column[Any], update: bool) -> Callable[[], Any]:
    default = column.onupdate if update else column.default
    if isinstance(default, sa.ColumnDefault) and default.is_callable:
        arg = default.arg
        return lambda: arg(None)  # SQLAlchemy wraps a no-argument callable to take a context
    if isinstance(default, sa.ColumnDefault) and default.is_scalar:
        value = default.arg
        return lambda: value
    raise ValueError(f"column {column.key}: only Python scalar or callable defaults run direct")


def row_type(keys: Sequence[str]) -> type:
    """A tuple type with a field per key and ``_mapping``, like SQLAlchemy's rows."""
    base = collections.namedtuple("Row", keys, rename=True)  # type: ignore[misc]

    def mapping(self: Any) -> dict[str, Any]:
        return dict(zip(keys, self, strict=True))

    return type("Row", (base,), {"__slots__": (), "_mapping": property(mapping)})


@lru_cache(maxsize=512)
def compile_statement(stmt: sa.ClauseElement, dialect: Dialect) -> Compiled:
    """``stmt`` compiled for ``dialect`` (cached per statement object: build statements once
    per shape, as the store's hot-path statements are)."""
    if isinstance(stmt, sa.TextClause):
        raise ValueError("textual SQL does not run direct: say its columns (text().columns())")
    compiled = stmt.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.literal_execute_params or compiled.post_compile_params:
        raise ValueError("statements with post-compile (expanding) parameters do not run direct")
    if compiled.escaped_bind_names:
        raise ValueError("statements with escaped bind names do not run direct")
    binds = {name: bind for bind, name in compiled.bind_names.items()}  # as rendered
    positional = bool(dialect.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(binds)
    processors: dict[str, Processor] = {}
    static: dict[str, Any] = {}
    for name in dict.fromkeys(names):
        bind = binds[name]
        if bind.callable is not None:
            raise ValueError(f"bind parameter {name}: a callable value does not run direct")
        proc = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if proc is not None:
            processors[name] = proc
        if not bind.required:
            static[name] = bind.effective_value
    defaults = {c.key: _default(c, False) for c in compiled.insert_prefetch}
    defaults.update({c.key: _default(c, True) for c in compiled.update_prefetch})
    for name in defaults:
        static.pop(name, None)
    result_types: tuple[Any, ...] | None = None
    if isinstance(stmt, sa.sql.selectable.SelectBase) or (
        isinstance(stmt, sa.sql.dml.UpdateBase) and stmt._returning
    ):
        result_types = tuple(c.type for c in stmt.exported_columns)
    return Compiled(
        sql=compiled.string,
        names=names,
        positional=positional,
        processors=processors,
        static=static,
        defaults=defaults,
        result_types=result_types,
    )


class _Scalars(list[Any]):
    """The first column of each row; iterable, and ``.all()`` as SQLAlchemy's."""

    def all(self) -> list[Any]:
        return list(self)


class DirectResult:
    """What a statement returned: ``rowcount`` and its rows (all fetched), with the
    accessors the store uses on SQLAlchemy results."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rowcount: int, rows: list[Any]) -> None:
        self.rowcount = rowcount
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise sa.exc.MultipleResultsFound("more than one row where at most one was expected")
        return self.first()

    def one(self) -> Any:
        if not self._rows:
            raise sa.exc.NoResultFound("no row where one was expected")
        return self.one_or_none()

    def scalars(self) -> _Scalars:
        return _Scalars(r[0] for r in self._rows)

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalar_one_or_none(self) -> Any:
        row = self.one_or_none()
        return None if row is None else row[0]

    def scalar_one(self) -> Any:
        return self.one()[0]


class DirectConnection:
    """A pooled DBAPI connection that runs SQLAlchemy statements directly (see the module
    docstring). Transactions are the owner's (``DirectUnit``)."""

    def __init__(self, engine: Engine, pooled: Any) -> None:
        self.engine = engine
        self.dialect = engine.dialect
        self.info: dict[str, Any] = {}
        self._pooled = pooled
        self.driver = pooled.driver_connection
        self._error = engine.dialect.loaded_dbapi.Error

    def execute(self, stmt: sa.ClauseElement, params: Mapping[str, Any] | None = None) -> Any:
        """Run ``stmt`` with ``params``; a DirectResult."""
        c = compile_statement(stmt, self.dialect)
        try:
            args = c.bind(params or {})
        except sa.exc.ArgumentError:
            raise
        except Exception as exc:  # a bind processor refused a value
            raise sa.exc.StatementError(str(exc), c.sql, params, exc) from exc
        return self._execute(c.sql, args, c)

    def exec_driver_sql(self, sql: str) -> None:
        """Run a parameterless statement (``BEGIN IMMEDIATE``), with the cursor events."""
        self._execute(sql, (), None)

    def _execute(self, sql: str, args: Any, c: Compiled | None) -> DirectResult:
        events = self.engine.dispatch
        if events.before_cursor_execute:
            events.before_cursor_execute(self, None, sql, args, None, False)
        try:
            cursor = self.driver.execute(sql, args)
            rows: list[Any] = []
            if c is not None and c.result_types is not None:
                shape = c.shape(self.dialect, cursor.description)
                make = shape.row._make
                if any(shape.processors):
                    procs = shape.processors
                    rows = [
                        make(p(v) if p is not None else v for p, v in zip(procs, r, strict=True))
                        for r in cursor.fetchall()
                    ]
                else:
                    rows = [make(r) for r in cursor.fetchall()]
        except self._error as exc:
            raise self._wrap(exc, sql, args) from exc
        result = DirectResult(cursor.rowcount, rows)
        if events.after_cursor_execute:
            events.after_cursor_execute(self, cursor, sql, args, None, False)
        return result

    def _wrap(self, exc: Any, sql: str, args: Any) -> sa.exc.StatementError:
        lost = self.dialect.is_disconnect(exc, self.driver, None)
        if lost:
            self.invalidate(exc)
        error: sa.exc.StatementError = sa.exc.DBAPIError.instance(
            sql,
            args,
            exc,
            self._error,
            connection_invalidated=lost,
            dialect=self.dialect,
        )
        return error

    def commit(self) -> None:
        try:
            self.driver.commit()
        except self._error as exc:
            raise self._wrap(exc, "COMMIT", ()) from exc

    def rollback_quietly(self) -> None:
        """Roll back; a connection that cannot is invalidated (never raises: the caller is
        already handling an error)."""
        if not self._pooled.is_valid:
            return
        try:
            self.driver.rollback()
        except Exception as exc:
            self.invalidate(exc)

    def invalidate(self, exc: BaseException) -> None:
        """Discard the connection (the pool opens a new one), once."""
        if self._pooled.is_valid:
            self._pooled.invalidate(exc)


class DirectUnit:
    """One transaction on a DirectConnection, all or nothing, as a ``UnitOfWork`` (SQLite:
    the process's writer lock, then BEGIN IMMEDIATE; PostgreSQL: READ COMMITTED).

    With ``autocommit``, there is no transaction: each statement is its own (for a
    single-statement read; on PostgreSQL also for a write that is one statement: on SQLite
    a write needs the transaction, which takes the process's writer lock)."""

    def __init__(self, engine: Engine, *, autocommit: bool = False) -> None:
        self._engine = engine
        self.autocommit = autocommit
        self._conn: DirectConnection | None = None
        self._lock: Any = None

    def __enter__(self) -> DirectConnection:
        if self._conn is not None:
            raise RuntimeError("a DirectUnit is single use")
        engine = self._engine
        conn = DirectConnection(engine, engine.raw_connection())
        try:
            if engine.dialect.name == "sqlite":
                if not self.autocommit:
                    self._begin_sqlite(conn)
            elif self.autocommit:
                conn.driver.autocommit = True
        except BaseException:
            conn._pooled.close()
            raise
        self._conn = conn
        return conn

    def _begin_sqlite(self, conn: DirectConnection) -> None:
        lock = writer_lock(self._engine)
        if lock is not None:
            acquire_writer(lock, SQLITE_BUSY_TIMEOUT_S)
            self._lock = lock
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

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
                try:
                    conn.commit()
                except BaseException:
                    conn.rollback_quietly()
                    raise
            else:
                conn.rollback_quietly()
        finally:
            self._unlock()
            if self.autocommit and conn.dialect.name != "sqlite" and conn._pooled.is_valid:
                try:
                    conn.driver.autocommit = False
                except conn._error as error:
                    conn.invalidate(error)
            conn._pooled.close()
