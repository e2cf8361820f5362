"""Borrower pages for learning, under /learn/. The editors' screens are in the admin."""

from django.urls import path, re_path

from . import views

app_name = "education"

urlpatterns = [
    path("learn/", views.article_list, name="articles"),
    path("learn/topics/<slug:category_slug>/", views.article_list, name="category"),
    path("learn/lectures/", views.lecture_list, name="lectures"),
    path("learn/lectures/<int:lecture_id>/", views.lecture_detail, name="lecture"),
    path("learn/lectures/<int:lecture_id>/register/", views.lecture_register, name="lecture-register"),
    path("learn/lectures/<int:lecture_id>/cancel/", views.lecture_cancel, name="lecture-cancel"),
    re_path(
        r"^learn/(?P<language>zh-hans|en)/(?P<slug>[-a-zA-Z0-9_]+)/$",
        views.article_detail,
        name="article",
    ),
]
