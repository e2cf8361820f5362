"""Borrower pages for notices; the staff's pages are in the admin (notices.admin)."""

from django.urls import path

from . import views

app_name = "notices"

urlpatterns = [
    path("my/notices/<int:notice_id>/pdf/", views.notice_pdf, name="notice-pdf"),
]
