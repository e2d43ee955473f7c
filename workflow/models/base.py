"""The one declarative `Base` and the column types every model module shares.

Everything here is about storage, not about any one table: the constraint naming convention
(so migrations name constraints predictably), partial indexes on both backends, 64-bit keys
that still auto-increment on SQLite, aware UTC datetimes on every backend, and enums stored
as checked strings.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    BigInteger,
    DateTime,
    Enum,
    Index,
    Integer,
    MetaData,
    Table,
    TypeDecorator,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.sql.elements import ColumnElement

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit keys on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY."""


def partial_index(
    name: str, *expressions: Any, where: str | ColumnElement[bool], **kw: Any
) -> Index:
    """An index over the rows matching `where`, on PostgreSQL and SQLite alike (each dialect
    takes its own keyword; the migrations and the tests' schema must agree on both)."""
    condition = text(where) if isinstance(where, str) else where
    return Index(name, *expressions, postgresql_where=condition, sqlite_where=condition, **kw)


def trigram_index(name: str, column: str) -> Index:
    """A pg_trgm GIN index on `column` (ILIKE '%word%' through it), PostgreSQL only: SQLite
    scans instead. Its table then creates the extension first (`needs_trigrams`)."""
    return Index(
        name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"}
    ).ddl_if(dialect="postgresql")


def needs_trigrams(table: Table) -> None:
    """Create pg_trgm before `table` on PostgreSQL (a trusted extension: the database owner
    may create it; `IF NOT EXISTS`, so every table with a trigram index may ask). The
    migrations do the same."""
    event.listen(
        table,
        "before_create",
        DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("Ticketflow stores aware datetimes only; pass `now` with a zone.")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_column(nullable: bool = True, **kw: Any) -> Any:
    return mapped_column(UtcDateTime(), nullable=nullable, **kw)


def stored_enum(cls: type[enum.Enum], name: str) -> Enum:
    """An enum kept as a short string of its values (no native PostgreSQL type to migrate)."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        length=20,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )
