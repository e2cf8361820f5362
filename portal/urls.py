from django.contrib import admin
from django.urls import include, path

from portal import views

admin.site.site_header = "逾期贷款管理 · Overdue loan portal"
admin.site.site_title = "Overdue loan portal"

portal_patterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.SignInView.as_view(), name="sign-in"),
    path("sign-out/", views.SignOutView.as_view(), name="sign-out"),
    path("password/", views.PasswordChangeView.as_view(), name="password-change"),
    path("password/changed/", views.PasswordChangedView.as_view(), name="password-changed"),
    path("language/", views.language_switch, name="language"),
    path("contact/", views.contact, name="contact"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("", include("loans.urls")),
    path("", include("debt_collections.urls")),
    path("", include("notices.urls")),
    path("", include("education.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("portal.api.urls")),  # the REST API, its schema and docs (issue 7)
]

# Errors outside a view answer in the API's JSON shape under /api/, as the site's page elsewhere.
handler500 = "portal.api.errors.server_error"
