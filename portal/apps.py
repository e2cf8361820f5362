from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Portal")

    def ready(self) -> None:
        from portal.roles import sync_roles

        # Permissions exist only after every app migrated, so groups are synced then, every time.
        post_migrate.connect(sync_roles, dispatch_uid="portal.sync_roles")
