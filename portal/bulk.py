"""Set-based writes for jobs that change thousands of rows: one statement per chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models

_MAX_PARAMETERS = 60_000


def bulk_update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """UPDATE each row by id: `rows` hold the new values of `fields` in order, then the id.

    On PostgreSQL one `UPDATE … FROM (VALUES …)` statement for all rows; on SQLite (in-process,
    no round trips) one prepared statement run for each row. The ORM's bulk_update would build a
    CASE over every row for every column instead. Values go through each field's own database
    conversion, exactly as a save would.
    """
    if not rows:
        return 0
    opts = model._meta
    columns: list[models.Field[Any, Any]] = [opts.get_field(name) for name in fields]  # type: ignore[misc]
    quote = connection.ops.quote_name
    table, pk = quote(opts.db_table), quote(str(opts.pk.column))
    params = [
        [f.get_db_prep_save(value, connection) for f, value in zip(columns, row[:-1], strict=True)] + [row[-1]]
        for row in rows
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            casts = [str(f.db_type(connection)).split("(")[0] for f in columns]
            names = [quote(str(f.column)) for f in columns]
            # Casts on the first row type every column of VALUES (NULLs included).
            first = "(" + ", ".join(f"%s::{cast}" for cast in casts) + ", %s::bigint)"
            other = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
            assignments = ", ".join(f"{name} = v.{name}" for name in names)
            per_statement = _MAX_PARAMETERS // (len(columns) + 1)  # PostgreSQL takes 65,535 at most
            for start in range(0, len(params), per_statement):
                batch = params[start:start + per_statement]
                values = ", ".join([first] + [other] * (len(batch) - 1))
                sql = (f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v({', '.join(names)}, _id) "
                       f"WHERE {table}.{pk} = v._id")
                cursor.execute(sql, [value for row in batch for value in row])
        else:
            assignments = ", ".join(f"{quote(str(f.column))} = %s" for f in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {pk} = %s", params)
    return len(rows)
