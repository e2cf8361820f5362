"""/api/v1/ URLs of collections (included by portal/api/urls.py)."""

from django.urls import path

from . import restructuring, views

urlpatterns = [
    path("hardship-requests/", views.HardshipListView.as_view(), name="hardship-requests"),
    path("hardship-requests/<uuid:public_id>/", views.HardshipDetailView.as_view(), name="hardship-request"),
    path("hardship-requests/<uuid:public_id>/withdraw/", views.HardshipWithdrawView.as_view(),
         name="hardship-request-withdraw"),
    path("hardship-requests/<uuid:public_id>/offers/<int:offer_id>/accept/", views.HardshipOfferAcceptView.as_view(),
         name="hardship-offer-accept"),
    path("hardship-requests/<uuid:public_id>/offers/<int:offer_id>/decline/", views.HardshipOfferDeclineView.as_view(),
         name="hardship-offer-decline"),
    path("restructurings/", restructuring.OfferListView.as_view(), name="restructurings"),
    path("restructurings/<uuid:public_id>/accept/", restructuring.OfferAcceptView.as_view(),
         name="restructuring-accept"),
    path("restructurings/<uuid:public_id>/decline/", restructuring.OfferDeclineView.as_view(),
         name="restructuring-decline"),
    path("staff/restructurings/", restructuring.StaffProposalListView.as_view(), name="staff-restructurings"),
    path("staff/restructurings/<uuid:public_id>/approve/", restructuring.StaffProposalApproveView.as_view(),
         name="staff-restructuring-approve"),
    path("staff/restructurings/<uuid:public_id>/reject/", restructuring.StaffProposalRejectView.as_view(),
         name="staff-restructuring-reject"),
    path("staff/cases/<int:case_id>/restructurings/", restructuring.StaffProposeView.as_view(),
         name="staff-case-restructurings"),
    path("staff/cases/", views.CaseListView.as_view(), name="staff-cases"),
    path("staff/cases/<int:case_id>/", views.CaseDetailView.as_view(), name="staff-case"),
    path("staff/cases/<int:case_id>/contacts/", views.ContactListView.as_view(), name="staff-case-contacts"),
    path("staff/cases/<int:case_id>/promises/", views.PromiseListView.as_view(), name="staff-case-promises"),
    path("staff/cases/<int:case_id>/notes/", views.NoteListView.as_view(), name="staff-case-notes"),
    path("staff/alerts/", views.AlertListView.as_view(), name="staff-alerts"),
    path("staff/alerts/<int:alert_id>/acknowledge/", views.AlertAcknowledgeView.as_view(),
         name="staff-alert-acknowledge"),
]
