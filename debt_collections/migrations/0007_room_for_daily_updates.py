"""Leave a fifth of every page of cases free (PostgreSQL's fillfactor): the close of business
rewrites every open case's figures each day (see loans 0011)."""

from django.db import migrations


def _fillfactor(percent: int):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"ALTER TABLE collections_case SET (fillfactor = {percent})")
    return apply


class Migration(migrations.Migration):
    dependencies = [("collections", "0006_legal_and_write_off")]

    operations = [migrations.RunPython(_fillfactor(80), _fillfactor(100))]
