"""Leave a fifth of every page of loans and bills free (PostgreSQL's fillfactor).

The close of business rewrites the days past due of every overdue loan and the penalty of its
bills each day. With room on the page, PostgreSQL updates a row in place when no indexed
column changed (a HOT update): no new entry in every index, and far less to vacuum. SQLite
has no such setting.
"""

from django.db import migrations

TABLES = ("loans_loan", "loans_installment")


def _fillfactor(percent: int):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            for table in TABLES:
                schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {percent})")
    return apply


class Migration(migrations.Migration):
    dependencies = [("loans", "0010_dashboard_indexes")]

    operations = [migrations.RunPython(_fillfactor(80), _fillfactor(100))]
