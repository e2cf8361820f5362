"""Set-based writes for jobs that change thousands of rows: one statement per chunk.

- `bulk_update_rows`: UPDATE many rows by id, each with its own values.
- `BulkRows`: INSERT many rows given as tuples (COPY on PostgreSQL).

The ORM's `bulk_update` builds a CASE over every row for every column, and `bulk_create`
prepares every value through its field (about 10 µs a value): fine for dozens of rows, not for
the close of business's hundred thousand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from portal.statements import bound_cursor

# Values psycopg takes as they are (and str's subclasses: TextChoices): the fields' own conversion of them
# is the identity on PostgreSQL, and costs more than the UPDATE itself for 100,000 rows.
_DRIVER_NATIVE = {str, int, Decimal, dt.date, type(None)}


def _native(kind: type) -> bool:
    return kind in _DRIVER_NATIVE or issubclass(kind, str)  # TextChoices are str


def bulk_update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """UPDATE each row by id: `rows` hold the new values of `fields` in order, then the id.

    On PostgreSQL one `UPDATE … FROM unnest(…)` statement with one array parameter per column
    (the statement's text does not grow with the rows, so nothing is parsed per row); on SQLite
    (in-process, no round trips) one prepared statement run for each row. Values go through
    each field's own database conversion, exactly as a save would, except those the driver
    takes as they are.
    """
    if not rows:
        return 0
    connection = connections[DEFAULT_DB_ALIAS]  # not the proxy: it is asked once a value
    opts = model._meta
    fields_: list[models.Field[Any, Any]] = [opts.get_field(name) for name in fields]  # type: ignore[misc]
    quote = connection.ops.quote_name
    table, pk = quote(opts.db_table), quote(str(opts.pk.column))
    *values, ids = (list(column) for column in zip(*rows, strict=True))
    for f, column in zip(fields_, values, strict=True):
        # Column by column: a set of the values' types is made at C speed, a test a value is not.
        if connection.vendor != "postgresql" or not all(_native(t) for t in set(map(type, column))):
            column[:] = [f.get_db_prep_save(value, connection) for value in column]
    if connection.vendor == "postgresql":
        casts = [str(f.db_type(connection)).split("(")[0] for f in fields_]
        names = [quote(str(f.column)) for f in fields_]
        # Binary arrays (%b): psycopg quotes no element, and dumps numbers and dates in C.
        arrays = ", ".join(f"%b::{cast}[]" for cast in [*casts, "bigint"])
        assignments = ", ".join(f"{name} = v.{name}" for name in names)
        sql = (f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({', '.join(names)}, _id) "
               f"WHERE {table}.{pk} = v._id")
        with bound_cursor(connection) as cursor:
            cursor.execute(sql, [*values, ids])
    else:
        assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in fields_)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {pk} = %s", list(zip(*values, ids, strict=True))
            )
    return len(rows)


class BulkRows:
    """Rows of one model as tuples of `fields`, written with one COPY (PostgreSQL) or one
    executemany INSERT (SQLite).

    The values must already be what the driver takes (int, str, Decimal, date, None); the
    columns not given (defaults, `auto_now_add`, the serial id) go through their fields once
    for all rows. Constraints and indexes apply to these rows as to any other.
    """

    def __init__(self, model: type[models.Model], fields: Sequence[str], now: dt.datetime) -> None:
        meta = model._meta
        given = [f for name in fields if isinstance(f := meta.get_field(name), models.Field)]
        if len(given) != len(fields):
            raise ValueError(f"{meta.label}: only concrete fields can be written")
        rest = [
            f
            for f in meta.concrete_fields
            if f not in given and not (f.primary_key and getattr(f, "db_returning", False))
        ]
        constants = []
        for f in rest:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value: Any = now
            else:
                value = f.get_default()  # the default, "" for text, None where allowed
                if value is None and not f.null:
                    raise ValueError(f"{meta.label}.{f.name} needs a value")
            constants.append(f.get_db_prep_save(value, connection))
        self.constants = tuple(constants)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in [*given, *rest])
        marks = ", ".join(["%s"] * (len(given) + len(rest)))
        self.sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"
        self.copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        self.rows.append(values + self.constants)

    def write(self) -> int:
        """Write the rows added since the last write; returns how many."""
        written = len(self.rows)
        if not written:
            return 0
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(self.copy_sql) as copy:  # psycopg 3
                    for row in self.rows:
                        copy.write_row(row)
            else:
                cursor.executemany(self.sql, self.rows)
        self.rows = []
        return written
