"""Everything under /api/: version 1 of the API, its schema and its docs.

    /api/v1/...      the endpoints (loans.api, debt_collections.api, education.api, auth here)
    /api/schema/     OpenAPI 3 (JSON with ?format=json, else YAML)
    /api/docs/       Swagger UI, /api/redoc/ Redoc: assets served from this site (sidecar)
"""

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from debt_collections.api.urls import urlpatterns as collections_urls
from education.api.urls import urlpatterns as education_urls
from loans.api.urls import urlpatterns as loans_urls
from notices.api import NoticeFileView, NoticeListView

from . import errors, tokens

auth_urls = [
    path("auth/tokens/", tokens.TokenListView.as_view(), name="tokens"),
    path("auth/tokens/current/", tokens.CurrentTokenView.as_view(), name="token-current"),
    path("auth/tokens/<int:token_id>/", tokens.TokenDetailView.as_view(), name="token"),
]

notices_urls = [
    path("notices/", NoticeListView.as_view(), name="notices"),
    path("notices/<str:reference>/pdf/", NoticeFileView.as_view(), name="notice-file"),
]

v1 = [*auth_urls, *loans_urls, *collections_urls, *education_urls, *notices_urls]

urlpatterns = [
    path("v1/", include((v1, "api"), namespace="api")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"),
         name="api-redoc"),
    re_path(r"^.*$", errors.not_found),  # unknown addresses under /api/ answer in the JSON shape
]
