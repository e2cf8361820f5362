"""/api/v1/ URLs of the loan book (included by portal/api/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("me/", views.MeView.as_view(), name="me"),
    path("loans/", views.LoanListView.as_view(), name="loans"),
    path("loans/<str:reference>/", views.LoanDetailView.as_view(), name="loan"),
    path("loans/<str:reference>/schedule/", views.ScheduleView.as_view(), name="loan-schedule"),
    path("loans/<str:reference>/payments/", views.LoanPaymentListView.as_view(), name="loan-payments"),
    path("loans/<str:reference>/payoff-quote/", views.PayoffQuoteView.as_view(), name="loan-payoff-quote"),
    path("loans/<str:reference>/repayment-options/", views.RepaymentOptionsView.as_view(),
         name="loan-repayment-options"),
    path("loans/<str:reference>/repayment-preview/", views.RepaymentPreviewView.as_view(),
         name="loan-repayment-preview"),
    path("loans/<str:reference>/repayments/", views.RepaymentCreateView.as_view(), name="loan-repay"),
    path("loans/<str:reference>/extension/", views.ExtensionView.as_view(), name="loan-extension"),
    path("payments/<int:payment_id>/", views.ReceiptView.as_view(), name="payment"),
    path("repayments/", views.RepaymentListView.as_view(), name="repayments"),
    path("repayments/<uuid:public_id>/", views.RepaymentDetailView.as_view(), name="repayment"),
    path("repayments/<uuid:public_id>/cancel/", views.RepaymentCancelView.as_view(), name="repayment-cancel"),
    path("messages/", views.MessageListView.as_view(), name="messages"),
]
