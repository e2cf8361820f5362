"""Set-based writes for jobs that change thousands of rows: one statement per chunk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection, models


def bulk_update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    """UPDATE each row by id: `rows` hold the new values of `fields` in order, then the id.

    One executemany per call (psycopg pipelines it; SQLite runs it in one prepared statement),
    where the ORM's bulk_update would build a CASE over every row for every column. Values go
    through each field's own database conversion, exactly as a save would.
    """
    if not rows:
        return 0
    opts = model._meta
    columns: list[models.Field[Any, Any]] = [opts.get_field(name) for name in fields]  # type: ignore[misc]
    quote = connection.ops.quote_name
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(opts.db_table),
        ", ".join(f"{quote(str(f.column))} = %s" for f in columns),
        quote(str(opts.pk.column)),
    )
    params = [
        [f.get_db_prep_save(value, connection) for f, value in zip(columns, row[:-1], strict=True)] + [row[-1]]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
    return len(rows)
