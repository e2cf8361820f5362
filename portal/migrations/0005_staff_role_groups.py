"""The five staff roles exist as groups from this migration on.

Only the groups are created here. Their permissions are set by `portal.roles.sync_roles` after
every migrate (post_migrate), because Django creates permissions only after all migrations have
run (a migration cannot see them on a fresh database), and because the declared lists in
portal/roles.py change more often than a migration should be written. The migration makes the
groups part of the schema's history (other migrations and fixtures may rely on them); the sync
keeps their permissions equal to the declaration, and recreates the groups if a test flush
removed them.
"""

from typing import Any

from django.db import migrations

ROLES = ["agent", "supervisor", "legal officer", "editor", "auditor"]  # as in portal.roles


def create_groups(apps: Any, schema_editor: Any) -> None:
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.using(schema_editor.connection.alias).get_or_create(name=name)


class Migration(migrations.Migration):

    dependencies = [
        ("portal", "0004_audit_export_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    # Reversing leaves the groups: people may belong to them.
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
