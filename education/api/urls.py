"""/api/v1/ URLs of learning (included by portal/api/urls.py)."""

from django.urls import path

from . import views

urlpatterns = [
    path("categories/", views.CategoryListView.as_view(), name="categories"),
    path("articles/", views.ArticleListView.as_view(), name="articles"),
    path("articles/<str:language>/<slug:slug>/", views.ArticleDetailView.as_view(), name="article"),
    path("lectures/", views.LectureListView.as_view(), name="lectures"),
    path("lectures/<int:lecture_id>/", views.LectureDetailView.as_view(), name="lecture"),
    path("lectures/<int:lecture_id>/registration/", views.RegistrationView.as_view(), name="lecture-registration"),
]
