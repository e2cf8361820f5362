"""The site's URLs plus the hardship pages, until portal/urls.py includes them itself."""

from django.urls import include, path

from portal.urls import urlpatterns as site_patterns

_included = any(getattr(p, "namespace", None) == "collections" for p in site_patterns)

urlpatterns = list(site_patterns) + (
    [] if _included else [path("", include("debt_collections.urls"))]
)
