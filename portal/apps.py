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

        from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed

        from portal.admin_audit import staff_sign_in_failed, staff_signed_in, staff_signed_out

        # Staff sign-in, sign-out and failed sign-in go to the audit trail (borrowers' do not).
        user_logged_in.connect(staff_signed_in, dispatch_uid="portal.audit_staff_sign_in")
        user_logged_out.connect(staff_signed_out, dispatch_uid="portal.audit_staff_sign_out")
        user_login_failed.connect(staff_sign_in_failed, dispatch_uid="portal.audit_staff_sign_in_failed")
