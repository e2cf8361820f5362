from django.urls import path

from . import views

app_name = "loans"

urlpatterns = [
    path("my/", views.dashboard, name="dashboard"),
    path("my/loans/<str:reference>/", views.loan_detail, name="loan"),
    path("my/messages/", views.messages_list, name="messages"),
]
