"""Borrower pages for hardship help.

The staff's evidence download lives in the admin (debt_collections.admin), not here.
"""

from django.urls import path

from . import views

app_name = "collections"

urlpatterns = [
    path("my/hardship/", views.hardship_list, name="hardship-list"),
    path("my/hardship/new/", views.hardship_new, name="hardship-new"),
    path("my/hardship/<uuid:public_id>/", views.hardship_detail, name="hardship-detail"),
    path(
        "my/hardship/<uuid:public_id>/withdraw/", views.hardship_withdraw, name="hardship-withdraw"
    ),
    path(
        "my/hardship/<uuid:public_id>/offers/<int:offer_id>/accept/",
        views.hardship_offer_accept,
        name="hardship-offer-accept",
    ),
    path(
        "my/hardship/<uuid:public_id>/offers/<int:offer_id>/decline/",
        views.hardship_offer_decline,
        name="hardship-offer-decline",
    ),
    path(
        "my/hardship/<uuid:public_id>/evidence/<int:evidence_id>/",
        views.hardship_evidence,
        name="hardship-evidence",
    ),
]

from . import views_restructuring  # noqa: E402

urlpatterns += [
    path("my/restructuring/", views_restructuring.restructuring_list, name="restructuring-list"),
    path(
        "my/restructuring/<uuid:public_id>/",
        views_restructuring.restructuring_detail,
        name="restructuring-detail",
    ),
    path(
        "my/restructuring/<uuid:public_id>/accept/",
        views_restructuring.restructuring_accept,
        name="restructuring-accept",
    ),
    path(
        "my/restructuring/<uuid:public_id>/decline/",
        views_restructuring.restructuring_decline,
        name="restructuring-decline",
    ),
]
