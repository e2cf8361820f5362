from django.urls import path

from . import views, views_repay

app_name = "loans"

urlpatterns = [
    path("my/", views.dashboard, name="dashboard"),
    path("my/loans/<str:reference>/", views.loan_detail, name="loan"),
    path("my/loans/<str:reference>/repay/", views_repay.repay, name="repay"),
    path("my/loans/<str:reference>/extension/", views_repay.extension, name="extension"),
    path("my/payments/<uuid:public_id>/", views_repay.intent_detail, name="intent"),
    path("my/payments/<uuid:public_id>/confirm/", views_repay.intent_confirm, name="intent-confirm"),
    path("my/payments/<uuid:public_id>/cancel/", views_repay.intent_cancel, name="intent-cancel"),
    path("my/receipts/<int:payment_id>/", views_repay.receipt, name="receipt"),
    path("my/messages/", views.messages_list, name="messages"),
    path("sandbox/checkout/<uuid:public_id>/", views_repay.sandbox_checkout, name="sandbox-checkout"),
]
