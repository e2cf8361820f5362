"""The rows one service call writes at its end, sent in one round trip.

`Batch` collects INSERTs of unsaved model instances and UPDATEs of columns by id, then `write()`
sends them: on PostgreSQL as one statement, every part but the last a data-modifying CTE
(`WITH w0 AS (INSERT …), w1 AS (UPDATE …) INSERT …`: one round trip, every constraint and foreign
key checked as for separate statements, all or nothing), its parameters bound on the server so a
statement of the same shape is prepared once (`portal.statements`); on SQLite one statement per
part (the database runs in-process, so there is no round trip to save). Values go through each field's
own database conversion, exactly as a save would.

Rows inserted this way get no ids back and stay "unsaved" instances: use it for rows nothing
reads again in the same call (allocations, journal entries, history, audit events). The parts
of one statement cannot see each other's rows, so never update a row twice in one batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models, transaction

from portal.statements import bound_cursor


class Batch:
    def __init__(self) -> None:
        self.connection = transaction.get_connection()
        self.parts: list[tuple[str, list[Any]]] = []

    def insert(self, objs: Sequence[models.Model]) -> None:
        """INSERT these unsaved instances of one model (defaults and `auto_now_add` applied)."""
        if not objs:
            return
        model = type(objs[0])
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        params: list[Any] = []
        for obj in objs:
            if type(obj) is not model or not obj._state.adding or obj.pk is not None:
                raise ValueError(f"{meta.label}: only new rows of one model can be inserted")
            params += [f.get_db_prep_save(f.pre_save(obj, True), self.connection) for f in fields]
        quote = self.connection.ops.quote_name
        row = "(" + ", ".join(["%s"] * len(fields)) + ")"
        self.parts.append((
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
            f"VALUES {', '.join([row] * len(objs))}",
            params,
        ))

    def update(self, model: type[models.Model], pk: Any, values: dict[str, Any]) -> None:
        """UPDATE the row `pk` of `model`: `values` maps field names to their new values."""
        if not values:
            return
        meta = model._meta
        quote = self.connection.ops.quote_name
        fields = [meta.get_field(name) for name in values]
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)  # type: ignore[union-attr]
        params = [f.get_db_prep_save(v, self.connection) for f, v in zip(fields, values.values(), strict=True)]  # type: ignore[union-attr]
        self.parts.append((
            f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(str(meta.pk.column))} = %s",  # type: ignore[union-attr]
            [*params, pk],
        ))

    def write(self) -> int:
        """Send what was collected; returns the number of statements the batch held."""
        parts, self.parts = self.parts, []
        if not parts:
            return 0
        with bound_cursor(self.connection) as cursor:
            if self.connection.vendor == "postgresql" and len(parts) > 1:
                *first, (last, _) = parts
                ctes = ", ".join(f"w{n} AS ({sql})" for n, (sql, _) in enumerate(first))
                cursor.execute(f"WITH {ctes} {last}", [p for _, params in parts for p in params])
            else:
                for sql, params in parts:
                    cursor.execute(sql, params)
        return len(parts)
