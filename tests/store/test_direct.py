"""``store.direct``: SQLAlchemy statements run on the pooled DBAPI connection give what a
Core ``Connection`` gives (rows, types, defaults, exception classes, cursor events), and
``DirectUnit`` is one all-or-nothing transaction (writer lock on SQLite, autocommit mode
reset on PostgreSQL). Tests taking ``engine`` run on SQLite and on PostgreSQL; compile-only
tests run on both dialects without a database."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, cast

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session, sessionmaker

from pcinet.store.db import make_engine, readonly_options, writer_lock
from pcinet.store.direct import DirectConnection, DirectResult, DirectUnit, compile_statement
from pcinet.store.models import (
    Host,
    Server,
    UtcDateTime,
    VfState,
    device_table,
    host_table,
    new_id,
    server_table,
    utcnow,
)
from pcinet.store.uow import UnitOfWork
from tests.store.helpers import PF, add_host, pf

H, D, S = host_table, device_table, server_table
VF = cast(sa.Table, VfState.__table__)
PLUS2 = timezone(timedelta(hours=2))
MINUS5 = timezone(timedelta(hours=-5))
HEARTBEAT = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=PLUS2)

POSTGRES_ONLY = pytest.mark.parametrize(
    "backend", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
DIALECTS = [
    pytest.param(sqlite.dialect(), id="sqlite"),
    pytest.param(postgresql.psycopg.dialect(), id="postgres"),  # type: ignore[no-untyped-call]
]


class Boom(Exception):
    pass


class Abort(BaseException):
    """Not an Exception (as KeyboardInterrupt): a unit must roll back for it too."""


def bp(name: str, **kw: Any) -> sa.BindParameter[Any]:
    return sa.bindparam(name, **kw)


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture
def observer(engine: Engine) -> Iterator[Engine]:
    """A second engine on the same database: it sees only what is committed."""
    other = make_engine(engine.url)
    try:
        yield other
    finally:
        other.dispose()


def sa_rows(engine: Engine, stmt: sa.Executable, params: Mapping[str, Any] | None = None) -> Any:
    """The rows of ``stmt`` through a Core connection (read-only: no writer lock)."""
    with engine.connect().execution_options(**readonly_options(engine)) as conn:
        return conn.execute(stmt, dict(params or {})).all()


def direct(
    engine: Engine, stmt: sa.ClauseElement, params: Mapping[str, Any] | None = None
) -> DirectResult:
    with DirectUnit(engine) as conn:
        result: DirectResult = conn.execute(stmt, params)
    return result


def names(engine: Engine) -> list[str]:
    """The committed host names, in order."""
    return [r.name for r in sa_rows(engine, sa.select(H.c.name).order_by(H.c.name))]


def typed(row: Any) -> tuple[tuple[type, Any], ...]:
    """A row's values with their types (True == 1, but a bool must stay a bool)."""
    return tuple((type(v), v) for v in row)


def insert_host(name: str, **values: Any) -> sa.Insert:
    """An INSERT of a host with literal values (the rest left to the column defaults)."""
    return sa.insert(H).values(
        {"name": name, "vcpus": 8, "memory_mb": 1024, "numa_cells": [], **values}
    )


INSERT_HOST = sa.insert(H).values(
    name=bp("p_name"), vcpus=bp("p_vcpus"), memory_mb=bp("p_mem"), numa_cells=bp("p_cells")
)


def host_params(name: str, **extra: Any) -> dict[str, Any]:
    return {"p_name": name, "p_vcpus": 4, "p_mem": 512, "p_cells": [{"id": 0}], **extra}


def terminate(observer: Engine, pid: int) -> None:
    """End a PostgreSQL backend and wait for it to be gone."""
    with observer.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid})


@pytest.fixture
def two_hosts(sessions: sessionmaker[Session]) -> None:
    """h-a (heartbeat set in a +02:00 zone, a device spec, 6 devices) and h-b (no heartbeat
    or device spec, 1 PF)."""
    add_host(sessions, "h-a")
    add_host(sessions, "h-b", devices=[pf("0000:05:00.0", physnet="phy2")])
    with UnitOfWork(sessions) as session:
        session.execute(
            sa.update(H)
            .where(H.c.name == "h-a")
            .values(
                heartbeat_at=HEARTBEAT,
                device_spec=[{"address": "*", "physical_network": "phy1"}],
                cells_used={"0": {"vcpus": 2}},
                generation=7,
            )
        )
        session.execute(sa.update(H).where(H.c.name == "h-b").values(heartbeat_at=None))


@pytest.fixture
def hosts_ab(engine: Engine) -> None:
    """Two bare hosts, h-a and h-b, written through Core."""
    with engine.begin() as conn:
        conn.execute(insert_host("h-a"))
        conn.execute(insert_host("h-b"))


# --- results equal SQLAlchemy's own ---------------------------------------------------------


# (statement, params, number of rows): each compared with a Core connection's result.
SAME_AS_SQLALCHEMY = [
    pytest.param(sa.select(H).order_by(H.c.name), {}, 2, id="all-host-columns"),
    pytest.param(
        sa.select(H.c.name.label("host"), D.c.address, D.c.tags, D.c.parent_address)
        .join_from(H, D, D.c.host_id == H.c.id)
        .order_by(H.c.name, D.c.address),
        {},
        7,
        id="join-json-nulls-labels",
    ),
    pytest.param(
        sa.select((H.c.vcpus + bp("k")).label("up"), (H.c.memory_mb - bp("k")).label("down")).where(
            H.c.name == bp("who")
        ),
        {"k": 5, "who": "h-a"},
        1,
        id="bind-used-twice",
    ),
    pytest.param(
        sa.select(
            H.c.name,
            (H.c.generation + 1).label("next"),
            sa.literal("x", sa.String).label("lit"),
        ).where(H.c.name == "h-a", H.c.generation == 7),
        {},
        1,
        id="literals",
    ),
    pytest.param(
        sa.select(H.c.name, H.c.heartbeat_at).where(H.c.heartbeat_at >= bp("since")),
        {"since": datetime(2024, 5, 6, 0, 0, tzinfo=MINUS5)},  # 05:00 UTC: h-a only
        1,
        id="timestamp-param",
    ),
    pytest.param(
        sa.select(H.c.name, H.c.heartbeat_at, H.c.device_spec, H.c.disabled).where(
            H.c.heartbeat_at.is_(None)
        ),
        {},
        1,
        id="nulls",
    ),
    pytest.param(
        sa.select(
            sa.func.count().label("n"),
            sa.func.max(H.c.generation).label("top"),
            sa.func.max(H.c.heartbeat_at).label("last"),
        ),
        {},
        1,
        id="aggregates",
    ),
    pytest.param(
        sa.select(D.c.address).order_by(D.c.address).limit(2).offset(1),
        {},
        2,
        id="limit-offset",
    ),
    pytest.param(
        sa.union_all(sa.select(H.c.name), sa.select(D.c.address)),
        {},
        9,
        id="union-all",
    ),
    pytest.param(
        sa.select(H.c.id, D.c.id).join_from(H, D, D.c.host_id == H.c.id).limit(1),
        {},
        1,
        id="two-columns-named-id",
    ),
]


@pytest.mark.usefixtures("two_hosts")
@pytest.mark.parametrize(("stmt", "params", "count"), SAME_AS_SQLALCHEMY)
def test_rows_equal_sqlalchemys(
    engine: Engine, stmt: sa.Select[Any], params: dict[str, Any], count: int
) -> None:
    expected = sa_rows(engine, stmt, params)
    got = direct(engine, stmt, params).all()
    assert len(expected) == count
    assert [typed(r) for r in got] == [typed(r) for r in expected]
    assert [r._mapping for r in got] == [dict(r._mapping) for r in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert all(getattr(mine, key) == getattr(theirs, key) for key in theirs._fields)


@pytest.mark.usefixtures("two_hosts")
def test_timestamps_come_back_aware_in_utc(engine: Engine) -> None:
    row = direct(engine, sa.select(H).where(H.c.name == "h-a")).one()
    assert row.heartbeat_at == HEARTBEAT
    for value in (row.heartbeat_at, row.created_at, row.updated_at):
        assert value.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("hosts_ab")
def test_numeric_results_equal_sqlalchemys(engine: Engine) -> None:
    stmt = sa.select(
        sa.cast(H.c.vcpus, sa.Numeric(10, 2)).label("amount"),
        sa.literal(1.5, sa.Float).label("ratio"),
    ).order_by(H.c.name)
    assert [typed(r) for r in direct(engine, stmt).all()] == [
        typed(r) for r in sa_rows(engine, stmt)
    ]


INSERT_SERVER = sa.insert(S).values(
    id=bp("p_id"),
    project_id="p1",
    name=bp("p_name"),
    status="ACTIVE",
    vcpus=bp("p_vcpus"),
    memory_mb=2048,
    flavor=bp("p_flavor"),
    cells=bp("p_cells"),
    created_at=bp("p_created"),
)


def test_a_direct_insert_reads_back_through_the_orm(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    sid, created = new_id(), datetime(2024, 1, 2, 3, 4, 5, 600000, tzinfo=MINUS5)
    flavor = {"vcpus": 2, "extra_specs": {"hw:numa_nodes": "1"}, "ids": [1, None, "x"]}
    cells = [{"host_cell": 1, "vcpus": 2, "memory_mb": 2048}]
    with DirectUnit(engine) as conn:
        result = conn.execute(
            INSERT_SERVER,
            {
                "p_id": sid,
                "p_name": "vm",
                "p_vcpus": 2,
                "p_flavor": flavor,
                "p_cells": cells,
                "p_created": created,
            },
        )
    assert result.rowcount == 1
    with UnitOfWork(sessions, readonly=True) as session:
        server = session.get(Server, sid)
    assert server is not None
    assert (server.project_id, server.name, server.status) == ("p1", "vm", "ACTIVE")
    assert (server.vcpus, server.memory_mb, server.host_id) == (2, 2048, None)
    assert (server.flavor, server.cells) == (flavor, cells)
    assert server.created_at == created
    assert server.created_at.utcoffset() == timedelta(0)


UPDATE_HOST = (
    sa.update(H)
    .where(H.c.name == bp("who"))
    .values(
        heartbeat_at=bp("hb"),
        cells_used=bp("used"),
        device_spec=bp("spec"),
        generation=H.c.generation + 1,
    )
    .returning(H.c.generation, H.c.heartbeat_at, H.c.cells_used, H.c.device_spec)
)
COMPARED = [H.c.heartbeat_at, H.c.cells_used, H.c.device_spec, H.c.generation]


@pytest.mark.parametrize(
    "params",
    [
        pytest.param(
            {"hb": HEARTBEAT, "used": {"0": {"vcpus": 3}}, "spec": None}, id="json-and-null"
        ),
        # cells_used is JSON (None is the JSON null), device_spec is JSON_OR_NULL.
        pytest.param(
            {"hb": datetime(2030, 1, 1, tzinfo=MINUS5), "used": None, "spec": [1, "a"]},
            id="json-null-and-list",
        ),
    ],
)
def test_a_direct_update_writes_what_sqlalchemy_writes(
    engine: Engine, sessions: sessionmaker[Session], params: dict[str, Any]
) -> None:
    with engine.begin() as core:
        core.execute(insert_host("by-core", generation=3))
        core.execute(insert_host("by-direct", generation=3))
        expected = core.execute(UPDATE_HOST, {**params, "who": "by-core"})
        expected_rows = expected.all()
    with DirectUnit(engine) as conn:
        got = conn.execute(UPDATE_HOST, {**params, "who": "by-direct"})
    assert got.rowcount == 1  # (SQLAlchemy's is 0 on SQLite with RETURNING)
    assert [typed(r) for r in got.all()] == [typed(r) for r in expected_rows]
    by_name = {r.name: r[1:] for r in sa_rows(engine, sa.select(H.c.name, *COMPARED))}
    assert by_name["by-direct"] == by_name["by-core"]
    # SQL NULL (JSON_OR_NULL's None) versus JSON null (JSON's None), as SQLAlchemy writes.
    is_null = sa.select(H.c.name, H.c.device_spec.is_(None), H.c.cells_used.is_(None))
    nulls = {r[0]: tuple(r[1:]) for r in sa_rows(engine, is_null)}
    assert nulls["by-direct"] == nulls["by-core"] == (params["spec"] is None, False)
    with UnitOfWork(sessions, readonly=True) as session:
        host = session.scalars(sa.select(Host).where(Host.name == "by-direct")).one()
    assert (host.heartbeat_at, host.generation) == (params["hb"], 4)
    assert (host.cells_used, host.device_spec) == (params["used"], params["spec"])


# --- binding ------------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", DIALECTS)
def test_bind_fills_every_placeholder_of_a_bind_used_twice_and_literals(
    dialect: Dialect,
) -> None:
    stmt = sa.select(H.c.name).where(
        H.c.vcpus == bp("v"), H.c.memory_mb > bp("v"), H.c.name == "lit"
    )
    compiled = compile_statement(stmt, dialect)
    args = compiled.bind({"v": 3})
    if compiled.positional:
        assert args == (3, 3, "lit")
        assert compiled.sql.count("?") == 3
    else:
        assert isinstance(args, dict)
        assert (args["v"], compiled.sql.count("%(v)s")) == (3, 2)
        assert "lit" in args.values()


# --- Python-side defaults -------------------------------------------------------------------

HOST_DEFAULTS = {
    "generation": 0,
    "change_seq": 0,
    "vcpus_used": 0,
    "memory_used_mb": 0,
    "cells_used": {},
    "disabled": False,
}


def test_python_defaults_are_computed_for_each_execution(
    engine: Engine, sessions: sessionmaker[Session]
) -> None:
    compiled = compile_statement(INSERT_HOST, engine.dialect)
    assert set(compiled.defaults) == {"id", "created_at", "updated_at", *HOST_DEFAULTS}
    before = utcnow()
    with DirectUnit(engine) as conn:
        conn.execute(INSERT_HOST, host_params("d-1"))
        conn.execute(INSERT_HOST, host_params("d-2"))
        conn.execute(INSERT_HOST, host_params("d-3", id="f" * 32, generation=5))
    after = utcnow()
    with UnitOfWork(sessions, readonly=True) as session:
        rows = {h.name: h for h in session.scalars(sa.select(Host))}
    d1, d2, d3 = rows["d-1"], rows["d-2"], rows["d-3"]
    assert len({d1.id, d2.id, d3.id}) == 3
    assert all(re.fullmatch("[0-9a-f]{32}", h.id) for h in (d1, d2))
    for host in (d1, d2):
        assert before <= host.created_at <= host.updated_at <= after
        assert {k: getattr(host, k) for k in HOST_DEFAULTS} == HOST_DEFAULTS
    # Given values win over defaults.
    assert (d3.id, d3.generation, d3.numa_cells) == ("f" * 32, 5, [{"id": 0}])


PROBE = sa.Table(
    "direct_probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("n", sa.Integer, default=7),
    sa.Column("note", sa.String(8), onupdate="edited"),
    sa.Column("touched", UtcDateTime(), default=utcnow, onupdate=utcnow),
)


def test_onupdate_values_are_computed_on_update(engine: Engine) -> None:
    PROBE.metadata.create_all(engine)
    insert = sa.insert(PROBE).values(id=bp("p_id"))
    update = sa.update(PROBE).where(PROBE.c.id == bp("p_id")).values(n=PROBE.c.n + 1)
    assert set(compile_statement(update, engine.dialect).defaults) == {"note", "touched"}
    with DirectUnit(engine) as conn:
        conn.execute(insert, {"p_id": 1})
        conn.execute(insert, {"p_id": 2})
    inserted = sa_rows(engine, sa.select(PROBE).order_by(PROBE.c.id))
    assert [(r.n, r.note) for r in inserted] == [(7, None), (7, None)]
    with DirectUnit(engine) as conn:
        assert conn.execute(update, {"p_id": 1}).rowcount == 1
    one, two = sa_rows(engine, sa.select(PROBE).order_by(PROBE.c.id))
    assert (one.n, one.note, two.n, two.note) == (8, "edited", 7, None)
    assert one.touched > inserted[0].touched
    assert two.touched == inserted[1].touched


# --- errors -------------------------------------------------------------------------------


def _duplicate_host_name(conn: DirectConnection) -> None:
    conn.execute(insert_host("dup"))
    conn.execute(insert_host("dup"))


def _duplicate_vf_state_key(conn: DirectConnection) -> None:
    host_id = conn.execute(insert_host("vf-host").returning(H.c.id)).scalar_one()
    vf = sa.insert(VF).values(
        host_id=host_id, pci_address="0000:01:10.0", desired={"vlan": 1}, action="apply"
    )
    conn.execute(vf)
    conn.execute(vf)


def _device_of_no_host(conn: DirectConnection) -> None:
    conn.execute(insert_host("fk-host"))
    orphan = {"address": PF, "vendor_id": "8086", "product_id": "1572", "dev_type": "type-PF"}
    conn.execute(sa.insert(D).values(host_id="0" * 32, **orphan))


@pytest.mark.parametrize(
    "violate",
    [
        pytest.param(_duplicate_host_name, id="unique"),
        pytest.param(_duplicate_vf_state_key, id="primary-key"),
        pytest.param(_device_of_no_host, id="foreign-key"),
    ],
)
def test_a_constraint_violation_is_sqlalchemys_integrity_error(
    engine: Engine, violate: Callable[[DirectConnection], None]
) -> None:
    with pytest.raises(sa.exc.IntegrityError) as info, DirectUnit(engine) as conn:
        violate(conn)
    assert isinstance(info.value.orig, engine.dialect.loaded_dbapi.IntegrityError)
    assert info.value.statement is not None
    assert info.value.statement.startswith("INSERT INTO")
    assert names(engine) == []  # the unit's earlier writes were rolled back


# (statement, dialects that refuse it): compiling raises ValueError there.
REFUSED = [
    pytest.param(
        sa.select(H.c.name).where(H.c.name.in_(bp("names", expanding=True))),
        {"sqlite", "postgresql"},
        id="expanding-bindparam",
    ),
    pytest.param(
        sa.select(H.c.name).where(H.c.name.in_(["a", "b"])),
        {"sqlite", "postgresql"},
        id="in-literal-list",
    ),
    pytest.param(
        sa.select(H.c.name).where(H.c.vcpus.not_in([1, 2])),
        {"sqlite", "postgresql"},
        id="not-in-literal-list",
    ),
    pytest.param(
        sa.select(H.c.name).where(H.c.vcpus == bp("v", literal_execute=True)),
        {"sqlite", "postgresql"},
        id="literal-execute",
    ),
    pytest.param(
        sa.select(H.c.name).where(H.c.name == bp("a.b")),
        {"sqlite", "postgresql"},
        id="escaped-bind-name",
    ),
    pytest.param(
        sa.text("SELECT name FROM hosts"),
        {"sqlite", "postgresql"},
        id="textual-sql",
    ),
    pytest.param(
        sa.select(H.c.name).where(H.c.name == bp("who", callable_=lambda: "h-a")),
        {"sqlite", "postgresql"},
        id="callable-bind",
    ),
    pytest.param(
        sa.select(H.c.name).where(H.c.name.in_([bp("x0"), bp("x1")])),
        set(),  # a list of plain binds is not expanding: runs direct
        id="in-list-of-binds",
    ),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize(("stmt", "refused_on"), REFUSED)
def test_post_compile_parameters_are_refused_when_compiling(
    dialect: Dialect, stmt: sa.Select[Any], refused_on: set[str]
) -> None:
    if dialect.name in refused_on:
        with pytest.raises(ValueError, match="not run direct"):
            compile_statement(stmt, dialect)
    else:
        assert compile_statement(stmt, dialect).sql.startswith("SELECT")


@pytest.mark.parametrize(
    ("stmt", "params", "missing"),
    [
        pytest.param(
            sa.select(H.c.name).where(H.c.name == bp("who"), H.c.vcpus > bp("floor")),
            {"who": "x"},
            "floor",
            id="select",
        ),
        pytest.param(
            INSERT_HOST, {"p_name": "x", "p_vcpus": 1, "p_mem": 1}, "p_cells", id="insert"
        ),
        pytest.param(
            sa.update(H).where(H.c.id == bp("hid")).values(vcpus=bp("v")),
            {"v": 1},
            "hid",
            id="update",
        ),
    ],
)
def test_a_missing_parameter_is_an_argument_error_naming_it(
    engine: Engine, stmt: sa.ClauseElement, params: dict[str, Any], missing: str
) -> None:
    with pytest.raises(sa.exc.ArgumentError, match=f"'{missing}'"), DirectUnit(engine) as conn:
        conn.execute(INSERT_HOST, host_params("before"))
        conn.execute(stmt, params)
    assert names(engine) == []
    lock = writer_lock(engine)
    assert lock is None or not lock.locked()


def test_a_value_a_bind_processor_refuses_is_a_statement_error(engine: Engine) -> None:
    naive = datetime(2024, 5, 6, 7, 8, 9)  # UtcDateTime keeps aware times only
    with pytest.raises(sa.exc.StatementError, match="naive datetime"), DirectUnit(engine) as conn:
        conn.execute(INSERT_HOST, host_params("before"))
        conn.execute(
            sa.select(H.c.name).where(H.c.created_at < bp("t", type_=UtcDateTime())), {"t": naive}
        )
    assert names(engine) == []


@SQLITE_ONLY
def test_a_writer_waits_for_the_lock_at_most_the_busy_timeout(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = writer_lock(engine)
    assert lock is not None
    monkeypatch.setattr("pcinet.store.direct.SQLITE_BUSY_TIMEOUT_S", 0.05)
    # Another writer of this process holds the lock.
    with lock, pytest.raises(sa.exc.OperationalError, match="no write lock"), DirectUnit(engine):
        pass
    with DirectUnit(engine) as conn:  # and nothing was left taken
        conn.execute(INSERT_HOST, host_params("after"))
    assert names(engine) == ["after"]
    assert writer_lock(engine.execution_options(isolation_level="SERIALIZABLE")) is lock


@POSTGRES_ONLY
def test_a_lost_connection_is_invalidated(engine: Engine, observer: Engine) -> None:
    pooled = engine.raw_connection()
    conn = DirectConnection(engine, pooled)
    terminate(observer, conn.execute(sa.select(sa.func.pg_backend_pid())).scalar())
    with pytest.raises(sa.exc.OperationalError) as info:
        conn.execute(sa.select(sa.literal(1, sa.Integer)))
    assert info.value.connection_invalidated
    assert not pooled.is_valid
    pooled.close()
    assert direct(engine, sa.select(sa.literal(1, sa.Integer))).scalar() == 1


@POSTGRES_ONLY
def test_a_lost_connection_in_a_unit_raises_the_error_without_a_warning(
    engine: Engine, observer: Engine
) -> None:
    with pytest.raises(sa.exc.OperationalError) as info, DirectUnit(engine) as conn:
        terminate(observer, conn.execute(sa.select(sa.func.pg_backend_pid())).scalar())
        conn.execute(sa.select(sa.literal(1, sa.Integer)))
    assert info.value.connection_invalidated


# --- DirectUnit ---------------------------------------------------------------------------

EXITS = [
    pytest.param(None, id="normal-exit"),
    pytest.param(Boom("boom"), id="exception"),
    pytest.param(Abort(), id="base-exception"),
]


def _raise(error: BaseException | None) -> None:
    if error is not None:
        raise error


@pytest.mark.parametrize("error", EXITS)
def test_a_unit_commits_on_exit_and_rolls_back_all_of_it_on_an_exception(
    engine: Engine, observer: Engine, error: BaseException | None
) -> None:
    lock = writer_lock(engine)
    assert (lock is None) == (engine.dialect.name == "postgresql")

    def unit() -> None:
        with DirectUnit(engine) as conn:
            conn.execute(INSERT_HOST, host_params("u-1"))
            conn.execute(sa.update(H).where(H.c.name == "u-1").values(vcpus=H.c.vcpus + 1))
            conn.execute(INSERT_HOST, host_params("u-2"))
            assert names(observer) == []  # nothing committed yet
            assert lock is None or lock.locked()
            _raise(error)

    if error is None:
        unit()
    else:
        with pytest.raises(type(error)) as info:
            unit()
        assert info.value is error  # the original exception, re-raised
    assert lock is None or not lock.locked()
    committed = sa_rows(observer, sa.select(H.c.name, H.c.vcpus).order_by(H.c.name))
    assert [tuple(r) for r in committed] == ([] if error else [("u-1", 5), ("u-2", 4)])
    with DirectUnit(engine) as conn:  # the lock is free: another unit writes
        conn.execute(INSERT_HOST, host_params("u-3"))
    assert names(observer)[-1] == "u-3"


@pytest.mark.parametrize("error", EXITS[:2])
def test_an_autocommit_unit_commits_each_statement_and_leaves_transactions_on(
    engine: Engine, observer: Engine, error: BaseException | None
) -> None:
    lock = writer_lock(engine)
    expected = pytest.raises(Boom) if error else contextlib.nullcontext()
    with expected, DirectUnit(engine, autocommit=True) as conn:
        driver = conn.driver
        conn.execute(INSERT_HOST, host_params("a-1"))
        assert names(observer) == ["a-1"]  # committed on its own, before the unit ends
        assert lock is None or not lock.locked()  # SQLite: no BEGIN, no writer lock
        conn.execute(INSERT_HOST, host_params("a-2"))
        _raise(error)
    assert names(observer) == ["a-1", "a-2"]  # nothing to roll back, even on an error
    if engine.dialect.name == "postgresql":
        assert driver.autocommit is False
    # The next unit gets the same pooled connection, in a transaction that rolls back.
    with pytest.raises(Boom), DirectUnit(engine) as conn:
        assert conn.driver is driver
        conn.execute(INSERT_HOST, host_params("a-3"))
        raise Boom
    assert names(observer) == ["a-1", "a-2"]


def test_a_unit_is_single_use(engine: Engine) -> None:
    unit = DirectUnit(engine)
    with unit as conn:
        conn.execute(INSERT_HOST, host_params("once"))
    with pytest.raises(RuntimeError, match="single use"), unit:
        pass
    assert names(engine) == ["once"]
    lock = writer_lock(engine)
    assert lock is None or not lock.locked()


# --- DirectResult accessors -----------------------------------------------------------------

FIRST, SECOND = ("h-a", 8), ("h-b", 8)
NO_ROW, MANY = sa.exc.NoResultFound, sa.exc.MultipleResultsFound


def _row(row: Any) -> tuple[Any, ...] | None:
    return None if row is None else tuple(row)


# (accessor, read, outcome for 0, 1 and 2 rows): an exception class where it raises.
ACCESSORS: list[tuple[str, Callable[[Any], Any], tuple[Any, Any, Any]]] = [
    ("one", lambda r: _row(r.one()), (NO_ROW, FIRST, MANY)),
    ("one_or_none", lambda r: _row(r.one_or_none()), (None, FIRST, MANY)),
    ("first", lambda r: _row(r.first()), (None, FIRST, FIRST)),
    ("scalar", lambda r: r.scalar(), (None, "h-a", "h-a")),
    ("scalar_one", lambda r: r.scalar_one(), (NO_ROW, "h-a", MANY)),
    ("scalar_one_or_none", lambda r: r.scalar_one_or_none(), (None, "h-a", MANY)),
    ("scalars", lambda r: list(r.scalars()), ([], ["h-a"], ["h-a", "h-b"])),
    ("scalars().all()", lambda r: r.scalars().all(), ([], ["h-a"], ["h-a", "h-b"])),
    ("all", lambda r: [tuple(x) for x in r.all()], ([], [FIRST], [FIRST, SECOND])),
    ("iteration", lambda r: [tuple(x) for x in r], ([], [FIRST], [FIRST, SECOND])),
]
LIMITED = sa.select(H.c.name, H.c.vcpus).order_by(H.c.name).limit(bp("n"))


def _outcome(read: Callable[[Any], Any], result: Any) -> Any:
    try:
        return read(result)
    except (NO_ROW, MANY) as exc:
        return type(exc)


@pytest.mark.usefixtures("hosts_ab")
def test_result_accessors_behave_as_sqlalchemys(engine: Engine) -> None:
    # One database for the whole table: it only reads.
    for name, read, outcomes in ACCESSORS:
        for n, expected in enumerate(outcomes):
            with engine.connect() as core:
                theirs = _outcome(read, core.execute(LIMITED, {"n": n}))
            mine = _outcome(read, direct(engine, LIMITED, {"n": n}))
            assert mine == theirs == expected, f"{name} with {n} rows"


# --- cursor events --------------------------------------------------------------------------


def test_cursor_events_are_dispatched_with_the_sql(engine: Engine) -> None:
    calls: list[tuple[str, Any, bool, str, Any]] = []

    def listener(name: str) -> Callable[..., None]:
        def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            calls.append((name, conn, cursor is None, statement, params))

        return record

    before, after = listener("before"), listener("after")
    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    stmt = sa.select(H.c.name).where(H.c.name == bp("who"))
    with DirectUnit(engine) as conn:
        conn.execute(stmt, {"who": "somebody"})
    sql = compile_statement(stmt, engine.dialect).sql
    args = ("somebody",) if engine.dialect.positional else {"who": "somebody"}
    begin = (
        [
            ("before", conn, True, "BEGIN IMMEDIATE", ()),
            ("after", conn, False, "BEGIN IMMEDIATE", ()),
        ]
        if engine.dialect.name == "sqlite"
        else []
    )
    assert calls == [
        *begin,
        ("before", conn, True, sql, args),
        ("after", conn, False, sql, args),
    ]
    sa.event.remove(engine, "before_cursor_execute", before)
    sa.event.remove(engine, "after_cursor_execute", after)
    with DirectUnit(engine) as conn:
        conn.execute(stmt, {"who": "nobody"})
    assert len(calls) == len(begin) + 2
