"""Statements of the hot path, composed once and run many times with fresh values.

peewee composes the SQL text of a query anew each time it runs it, and for the few statements
of a quiz answer that composing cost more than running them. A ``Prepared`` statement is a
peewee query built once per database engine with ``slot`` placeholders where the values go;
each run puts the values in (converted as their field stores them) and executes the text.

    _MOVE = Prepared(lambda: Attempt.update(index=slot("to")).where(Attempt.id == slot("id")))
    _MOVE.rowcount(to=3, id=7)

Rows come back as tuples of Python values, in the order of the query's columns.

PostgreSQL also plans a statement each time it receives its text, and planning the answer's
read (five tables, sixty columns) cost the server several times what running it did. There each
statement is prepared once per connection (``PREPARE``, kept by the session, not undone by a
rollback) and then only ``EXECUTE``d with the values.
"""

from __future__ import annotations

import itertools
import re
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from peewee import Field, PostgresqlDatabase, Query, Value

from studymate.db.models import database_proxy


class _Slot:
    __slots__ = ("name", "field")

    def __init__(self, name: str, field: Field | None) -> None:
        self.name, self.field = name, field


def slot(name: str, field: Field | None = None) -> Value:
    """A value given at each run; ``field`` converts it as that column stores it (dates)."""
    return Value(_Slot(name, field), converter=False)


_numbers = itertools.count(1)
_on_server: weakref.WeakKeyDictionary[Any, set[str]] = weakref.WeakKeyDictionary()  # by connection
_on_server_lock = threading.Lock()
_PLACEHOLDER = re.compile(r"%[s%]")


class Prepared:
    def __init__(self, build: Callable[[], Query]) -> None:
        self._build = build
        self._by_engine: dict[type, tuple[str, list[Any], list[Callable[[Any], Any] | None]]] = {}
        self._name = f"studymate_{next(_numbers)}"

    def _compiled(self) -> tuple[str, list[Any], list[Callable[[Any], Any] | None]]:
        engine = type(database_proxy.obj)  # the text depends on the engine's dialect alone
        found = self._by_engine.get(engine)
        if found is None:
            query = self._build()
            sql, params = query.sql()
            columns = getattr(query, "_returning", None) or ()
            converters = [getattr(column, "python_value", None) for column in columns]
            found = self._by_engine[engine] = (sql, params, converters)
        return found

    def execute(self, **values: Any) -> Any:
        """Run it; the database cursor."""
        sql, params, _ = self._compiled()
        args = [fill(param, values) for param in params]
        database = database_proxy.obj
        if isinstance(database, PostgresqlDatabase):
            return self._execute_prepared(database, sql, args)
        return database.execute_sql(sql, args)

    def _execute_prepared(self, database: PostgresqlDatabase, sql: str, args: list[Any]) -> Any:
        connection = database.connection()
        with _on_server_lock:
            known = _on_server.setdefault(connection, set())
            new = self._name not in known
        if new:
            database.execute_sql(f"PREPARE {self._name} AS {_numbered(sql)}")
            with _on_server_lock:
                known.add(self._name)
        if not args:
            return database.execute_sql(f"EXECUTE {self._name}")
        return database.execute_sql(f"EXECUTE {self._name} ({', '.join(['%s'] * len(args))})", args)

    def rows(self, **values: Any) -> list[tuple[Any, ...]]:
        cursor = self.execute(**values)
        converters = self._compiled()[2]
        return [_converted(row, converters) for row in cursor.fetchall()]

    def rowcount(self, **values: Any) -> int:
        return self.execute(**values).rowcount


def _numbered(sql: str) -> str:
    """psycopg2's ``%s`` placeholders as PostgreSQL's own ``$1``, ``$2``… (``%%`` is ``%``)."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda m: "%" if m.group() == "%%" else f"${next(numbers)}", sql)


def fill(param: Any, values: dict[str, Any]) -> Any:
    """One parameter of a composed statement: a slot's value from ``values``, stored form."""
    if not isinstance(param, _Slot):
        return param
    value = values[param.name]
    return param.field.db_value(value) if param.field is not None else value


def _converted(row: Sequence[Any], converters: list[Callable[[Any], Any] | None]) -> tuple[Any, ...]:
    return tuple(
        convert(value) if convert is not None and value is not None else value
        for value, convert in zip(row, converters, strict=False)
    )


def columns_of(model: Any) -> list[Field]:
    """Every column of ``model`` (or of an alias of it), in the order ``instance`` reads them."""
    fields = model.model._meta.sorted_fields if hasattr(model, "model") else model._meta.sorted_fields
    return [getattr(model, field.name) for field in fields]


def instance(model: Any, values: Sequence[Any]) -> Any:
    """A ``model`` object from its columns' values as ``columns_of`` orders them; None when the
    row is absent (its id is NULL, as from an outer join that found nothing)."""
    if values[0] is None:
        return None
    obj = model(__no_default__=1, **{
        field.name: value for field, value in zip(model._meta.sorted_fields, values, strict=True)
    })
    obj._dirty.clear()
    return obj
