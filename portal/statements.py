"""Cursors for the statements the busiest paths run again and again, on PostgreSQL.

Django's psycopg cursors quote every parameter into the statement's text, so PostgreSQL parses
and plans each call anew. `bound_cursor` sends the parameters apart from the text instead; psycopg
then prepares a statement when a connection runs it again after `prepare_threshold` runs (the
database setting's OPTIONS, `PORTAL_DB_PREPARE_THRESHOLD`), and later runs skip parsing and
planning: about a third of the database's work for a payment. It also keeps a 100,000-element
array parameter from being written out as text. Other backends get the connection's own cursor.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.utils import CursorDebugWrapper, CursorWrapper


class _LoggedAsSent(CursorDebugWrapper):
    """Django's query log (DEBUG, tests) with each statement as our code wrote it: psycopg keeps
    no text of a statement it runs prepared, so Django would log None for it."""

    def execute(self, sql: Any, params: Any = None) -> Any:
        with self.debug_sql(sql, params):
            return CursorWrapper.execute(self, sql, params)


def bound_cursor(connection: Any) -> Any:
    """A cursor of Django's connection (its transaction, its query log) that binds parameters
    on the server. Use it for SQL built by our own code, whose parameter types PostgreSQL can
    infer (column values, ids, arrays with casts)."""
    if connection.vendor != "postgresql":
        return connection.cursor()
    import psycopg

    connection.ensure_connection()
    raw = psycopg.Cursor(connection.connection)
    return _LoggedAsSent(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
