"""Core statements for the hottest path, run on the driver connection under a session.

Moving a ticket is three small statements, and SQLAlchemy's per-statement execution
machinery (events, execution context, result metadata built from `cursor.description`)
costs more client CPU than the driver's own work (for the ticket's SELECT, 0.09 ms against
0.05 ms on the development machine); the hand-written ceiling in bench/ pays only the
driver's part. A `Prepared` compiles its Core statement once per dialect into the SQL text,
the parameter order and the bind and result processors of its column types
(`dialect_impl(...).bind_processor` / `.result_processor`, so values convert exactly as
SQLAlchemy converts them: aware UTC datetimes, JSON, enums), then runs it on the DBAPI
connection of the session's transaction, so it commits and rolls back with the session.
psycopg prepares a statement on the server once the same text has run a few times on a
connection (`prepare_threshold`); sqlite3 keeps its own statement cache.

Driver errors are wrapped the way SQLAlchemy wraps them (`sqlalchemy.exc.DBAPIError` and
its subclasses such as IntegrityError), and a connection the driver reports lost is
invalidated so the pool never hands it out again. What it gives up: SQLAlchemy's cursor
events (`echo`, `before_cursor_execute`) do not see these statements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import exc
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]


class _Form:
    """One statement compiled for one dialect."""

    __slots__ = ("binds", "columns", "defaults", "names", "required", "results", "sql")

    def __init__(self, statement: Executable, dialect: Dialect):
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise exc.ArgumentError("Prepared takes statements whose text never changes.")
        self.sql: str = compiled.string
        self.names = tuple(compiled.positiontup or ()) if compiled.positional else None
        """Parameter names in placeholder order for positional styles (sqlite3's `?`)."""
        self.defaults = {k: v for k, v in compiled.params.items() if v is not None}
        """Values the statement carries itself, such as the 1 in `version + 1`."""
        self.required = frozenset(k for k, v in compiled.params.items() if v is None)
        self.binds: list[tuple[str, Processor]] = []
        for bind, name in compiled.bind_names.items():
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                self.binds.append((name, processor))
        self.columns: list[Any] = []
        """The columns a row brings back: a SELECT's, or an INSERT's or UPDATE's RETURNING."""
        if isinstance(statement, SelectBase):
            self.columns = list(statement.selected_columns)
        elif isinstance(statement, UpdateBase):
            self.columns = list(statement.exported_columns)
        self.results: list[tuple[int, Processor]] | None = None

    def bound(self, params: Mapping[str, Any]) -> tuple[Any, ...] | dict[str, Any]:
        """The driver's parameters: defaults filled in, values converted, in its style."""
        missing = self.required.difference(params)
        if missing:
            raise exc.ArgumentError(f"No value for {', '.join(sorted(missing))} in {self.sql}")
        values = {**self.defaults, **params}
        for name, processor in self.binds:
            values[name] = processor(values[name])
        return values if self.names is None else tuple(values[n] for n in self.names)

    def result_processors(self, cursor: Any, dialect: Dialect) -> list[tuple[int, Processor]]:
        """Built on the first result, as a processor may depend on the driver's type code."""
        if self.results is None:
            self.results = [
                (i, processor)
                for i, (column, described) in enumerate(
                    zip(self.columns, cursor.description, strict=True)
                )
                if (
                    processor := column.type.dialect_impl(dialect).result_processor(
                        dialect, described[1]
                    )
                )
                is not None
            ]
        return self.results


class Prepared:
    """A Core statement run on the session's driver connection (see the module docstring)."""

    def __init__(self, statement: Executable):
        self.statement = statement
        self._forms: WeakKeyDictionary[Dialect, _Form] = WeakKeyDictionary()

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            form = self._forms.setdefault(dialect, _Form(self.statement, dialect))
        return form

    def _run(self, connection: Connection, form: _Form, values: Any, many: bool = False) -> Any:
        """The cursor after executing; a driver error is raised as SQLAlchemy raises it."""
        dbapi_connection = connection.connection.dbapi_connection
        cursor = dbapi_connection.cursor()  # type: ignore[union-attr]
        dialect = connection.dialect
        try:
            if many:
                cursor.executemany(form.sql, values)
            else:
                cursor.execute(form.sql, values)
        except dialect.loaded_dbapi.Error as error:
            lost = dialect.is_disconnect(error, dbapi_connection, cursor)
            cursor.close()
            if lost:
                connection.invalidate(error)
            raise exc.DBAPIError.instance(
                form.sql,
                values,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=dialect,
                ismulti=many,
            ) from error
        return cursor

    def first(self, session: Session, params: Mapping[str, Any]) -> tuple[Any, ...] | None:
        """The first row (values converted as SQLAlchemy would), or None."""
        connection = session.connection()
        form = self._form(connection.dialect)
        cursor = self._run(connection, form, form.bound(params))
        try:
            row = cursor.fetchone()
            if row is None:
                return None
            processors = form.result_processors(cursor, connection.dialect)
        finally:
            cursor.close()
        if not processors:
            return tuple(row)
        values = list(row)
        for i, processor in processors:
            values[i] = processor(values[i])
        return tuple(values)

    def all(self, session: Session, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Every row (values converted as SQLAlchemy would)."""
        connection = session.connection()
        form = self._form(connection.dialect)
        cursor = self._run(connection, form, form.bound(params))
        try:
            rows = cursor.fetchall()
            processors = form.result_processors(cursor, connection.dialect) if rows else []
        finally:
            cursor.close()
        if not processors:
            return [tuple(row) for row in rows]
        converted = []
        for row in rows:
            values = list(row)
            for i, processor in processors:
                values[i] = processor(values[i])
            converted.append(tuple(values))
        return converted

    def execute(self, session: Session, params: Mapping[str, Any]) -> int:
        """Run once; the number of rows it matched."""
        connection = session.connection()
        form = self._form(connection.dialect)
        cursor = self._run(connection, form, form.bound(params))
        count: int = cursor.rowcount
        cursor.close()
        return count

    def execute_many(self, session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row (a single row as a plain execute, the common case)."""
        if not rows:
            return
        connection = session.connection()
        form = self._form(connection.dialect)
        if len(rows) == 1:
            cursor = self._run(connection, form, form.bound(rows[0]))
        else:
            cursor = self._run(connection, form, [form.bound(r) for r in rows], many=True)
        cursor.close()
