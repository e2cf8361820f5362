from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NoticesConfig(AppConfig):
    """Printed notices (催收函, 律师函, …): rendered to PDF, archived, delivery tracked."""

    name = "notices"
    label = "notices"
    verbose_name = _("Notices")
