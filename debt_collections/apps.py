from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CollectionsConfig(AppConfig):
    # The package cannot be called `collections`: that would shadow Python's standard library
    # module and break Django's own imports. The label keeps the app's name everywhere else.
    name = "debt_collections"
    label = "collections"
    verbose_name = _("Collections")
