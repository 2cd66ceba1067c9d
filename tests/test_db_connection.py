"""The bot's database handle outlives its connections (issue 16): a connection the server
dropped is replaced on its next use and the work that found it dead runs again, once.

PostgreSQL only: the module runs in the PostgreSQL pass (conftest's POSTGRES_ONLY).
"""

from __future__ import annotations

import contextlib

import psycopg2
import pytest
from peewee import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from studymate.db.connection import open_database
from studymate.db.models import Mentor, Student, database_proxy
from studymate.db.prepared import Prepared, slot


def backend_pid() -> int:
    return database_proxy.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


async def test_every_thread_gets_a_new_connection_after_a_restart(bot_db, end_other_sessions):
    calls = []

    def add(n: int) -> int:
        calls.append(n)
        Mentor.create(telegram_id=n, name=f"M{n}", group_chat_id=-n)
        return backend_pid()

    before = {await bot_db.run(add, n) for n in range(1, 5)}
    assert end_other_sessions() >= 1
    after = {await bot_db.run(add, n) for n in range(5, 13)}
    assert not before & after
    assert sorted(Mentor.select(Mentor.telegram_id).tuples()) == [(n,) for n in range(1, 13)]
    assert calls.count(5) <= 2 and len(set(calls)) == 12  # run again at most once each


async def test_the_work_runs_again_once_then_the_error_is_the_callers(bot_db):
    calls = []

    def dies_every_time() -> None:
        calls.append(1)
        database_proxy.execute_sql("SELECT pg_terminate_backend(pg_backend_pid())")

    with pytest.raises((OperationalError, InterfaceError)):
        await bot_db.run(dies_every_time)
    assert len(calls) == 2
    assert await bot_db.run(backend_pid) > 0  # and the handle still works


async def test_an_error_of_the_work_itself_is_not_repeated(bot_db):
    calls = []

    def wrong() -> None:
        calls.append(1)
        database_proxy.execute_sql("SELECT * FROM no_such_table")

    with pytest.raises(Exception, match="no_such_table"):
        await bot_db.run(wrong)
    assert len(calls) == 1
    assert await bot_db.run(backend_pid) > 0


def test_postgresql_plans_each_statement_once_per_connection(db):
    early, late = _students()
    with db.atomic() as txn:
        _RENAME.rowcount(name="Aigul", id=early.id)
        txn.rollback()  # a rollback keeps what the session prepared
    assert _RENAME.rowcount(name="Bekzat", id=late.id) == 1
    assert _RENAME.rowcount(name="Aigul", id=early.id) == 1
    prepared = db.execute_sql(
        "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'studymate\\_%%'"
    ).fetchone()[0]
    assert prepared == 1
    assert [s.full_name for s in Student.select().order_by(Student.id)] == ["Aigul", "Bekzat"]


_RENAME = Prepared(lambda: Student.update(full_name=slot("name")).where(Student.id == slot("id")))


def _students() -> tuple[Student, Student]:
    mentor = Mentor.create(telegram_id=1, name="Anna", group_chat_id=-1, language="en")
    return (Student.create(telegram_id=10, full_name="Early", mentor=mentor),
            Student.create(telegram_id=11, full_name="Late", mentor=mentor))


async def test_a_transaction_undoes_its_first_statement(bot_db):
    """BEGIN goes to the server with a transaction's first statement: what fails after that
    statement still undoes it."""

    def two_mentors_with_one_id() -> None:
        Mentor.create(telegram_id=1, name="Anna", group_chat_id=-1)
        Mentor.create(telegram_id=1, name="Anna again", group_chat_id=-2)

    def one_then_a_bug() -> None:
        Mentor.create(telegram_id=2, name="Bekzat", group_chat_id=-3)
        raise RuntimeError("a bug after the first statement")

    with pytest.raises(IntegrityError):
        await bot_db.run(two_mentors_with_one_id)
    with pytest.raises(RuntimeError):
        await bot_db.run(one_then_a_bug)
    assert await bot_db.run(lambda: Mentor.select().count()) == 0


async def test_a_transaction_that_failed_at_its_first_statement_leaves_the_connection_usable(bot_db):
    def wrong_first() -> None:
        database_proxy.execute_sql("SELECT * FROM no_such_table")

    for _ in range(3):
        with pytest.raises(ProgrammingError):
            await bot_db.run(wrong_first)
    await bot_db.run(lambda: Mentor.create(telegram_id=3, name="Dana", group_chat_id=-4))
    assert await bot_db.run(lambda: [m.name for m in Mentor.select()]) == ["Dana"]


async def test_nothing_of_a_transaction_outlives_it(bot_db, database_url):
    """A transaction that ran no statement, or one that committed, leaves no transaction open
    on the server: another connection sees the committed row and no session stays idle in a
    transaction."""
    await bot_db.run(lambda: None)
    await bot_db.run(lambda: Mentor.create(telegram_id=4, name="Erlan", group_chat_id=-5))
    admin = psycopg2.connect(database_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT name FROM mentor")
        assert cur.fetchall() == [("Erlan",)]
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%%'"
        )
        assert cur.fetchone() == (0,)
    admin.close()


@pytest.mark.parametrize("refused", ["SELEC 1", "SELECT %s"], ids=["syntax", "unsendable value"])
async def test_a_first_statement_the_server_never_ran_does_not_lose_the_transaction(bot_db, refused):
    """A typo fails ``BEGIN; SELEC 1`` as a whole, and a value psycopg2 cannot send never leaves:
    the transaction has not begun, and the work that goes on after catching the error is still
    one transaction."""

    def refused_then_half_done() -> None:
        with contextlib.suppress(ProgrammingError):
            database_proxy.execute_sql(refused, (object(),) if "%s" in refused else None)
        Mentor.create(telegram_id=5, name="Farida", group_chat_id=-6)
        raise RuntimeError("a bug after the insert")

    with pytest.raises(RuntimeError):
        await bot_db.run(refused_then_half_done)
    assert await bot_db.run(lambda: Mentor.select().count()) == 0


def test_a_transaction_opened_before_any_connection_commits(database_url):
    """The command-line tools open a transaction on a database not yet connected: it connects
    then, and what the transaction wrote is there afterwards."""
    database = open_database(database_url)
    try:
        with database.atomic():
            Mentor.create(telegram_id=6, name="Gulnara", group_chat_id=-7)
        with database.atomic():
            pass  # one that writes nothing
        assert [m.name for m in Mentor.select()] == ["Gulnara"]
    finally:
        database.close_all()
