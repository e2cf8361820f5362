"""Articles, categories and lectures: public reads; lecture registration for borrowers."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loans.models import Borrower, Language
from portal.api.permissions import IsBorrower, borrower_of
from portal.api.schema import error_responses
from portal.models import User

from .. import selectors, services
from ..models import Article, Category
from . import serializers as s


def _borrower(request: Request) -> Borrower | None:
    user = request.user
    if not user or not user.is_authenticated:
        return None
    return getattr(user, "borrower", None)


def _user(request: Request) -> User | None:
    return request.user if isinstance(request.user, User) else None


class ArticleQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=selectors.SEARCH_MAX_LENGTH,
                              help_text="Search words (Chinese or English).")
    category = serializers.SlugField(required=False, max_length=60, help_text="A category's slug.")


class CategoryListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="categories_list", responses={200: s.CategorySerializer(many=True)},
                   summary="Topics with published articles in your language")
    def get(self, request: Request) -> Response:
        return Response(s.CategorySerializer(selectors.categories_for(selectors.reader_language()), many=True).data)


class ArticleListView(generics.ListAPIView):  # type: ignore[type-arg]
    """Published articles in the reader's language (the page's language), newest or best first."""

    permission_classes = [AllowAny]
    serializer_class = s.ArticleSerializer

    @extend_schema(operation_id="articles_list", parameters=[ArticleQuerySerializer],
                   summary="Articles, by topic or search")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Article]:
        query = ArticleQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        category: Category | None = None
        if query.validated_data.get("category"):
            category = Category.objects.filter(slug=query.validated_data["category"]).first()
            if category is None:
                raise serializers.ValidationError({"category": [_("There is no topic with this name.")]})
        return selectors.article_list(language=selectors.reader_language(), category=category,
                                      query=query.validated_data.get("q", "").strip())

    def get_serializer_context(self) -> dict[str, Any]:
        borrower = _borrower(self.request)
        read = selectors.read_story_ids(borrower.pk) if borrower is not None else set()
        return {**super().get_serializer_context(), "read": read}


class ArticleDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="articles_retrieve",
        parameters=[OpenApiParameter("language", str, OpenApiParameter.PATH, enum=Language.values)],
        responses={200: s.ArticleDetailSerializer},
        summary="An article (reading it as a borrower is remembered)",
    )
    def get(self, request: Request, language: str, slug: str) -> Response:
        if language not in Language.values:
            raise Http404
        article = selectors.published_article(language=language, slug=slug)
        if article is None:
            raise Http404
        borrower = _borrower(request)
        if borrower is not None:
            services.article_read_record(article_id=article.pk, borrower_id=borrower.pk, actor=_user(request))
        article.other_versions = selectors.other_versions(article)  # type: ignore[attr-defined]
        return Response(s.ArticleDetailSerializer(article).data)


class LectureListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="lectures_list", responses={200: s.LecturePageSerializer},
                   summary="Upcoming lectures, and past ones with a recording")
    def get(self, request: Request) -> Response:
        borrower = _borrower(request)
        page = selectors.lecture_page(borrower_id=borrower.pk if borrower is not None else None)
        return Response(s.LecturePageSerializer({"upcoming": page.upcoming, "past": page.past}).data)


def _lecture(request: Request, lecture_id: int) -> Any:
    borrower = _borrower(request)
    lecture = selectors.lecture_for(lecture_id=lecture_id, borrower_id=borrower.pk if borrower is not None else None)
    if lecture is None:
        raise Http404
    return lecture


class LectureDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="lectures_retrieve", responses={200: s.LectureSerializer}, summary="A lecture")
    def get(self, request: Request, lecture_id: int) -> Response:
        return Response(s.LectureSerializer(_lecture(request, lecture_id)).data)


class RegistrationView(APIView):
    permission_classes = [IsAuthenticated, IsBorrower]

    @extend_schema(operation_id="lectures_register", request=None,
                   responses={201: s.RegistrationSerializer, **error_responses(409)},
                   summary="Take a seat (again: the same seat)")
    def post(self, request: Request, lecture_id: int) -> Response:
        get_object_or_404(selectors.Lecture, pk=lecture_id)
        registration = services.lecture_register(lecture_id=lecture_id, borrower_id=borrower_of(request).pk,
                                                 actor=_user(request))
        return Response(s.RegistrationSerializer(registration).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="lectures_cancel", request=None,
                   responses={200: s.RegistrationSerializer, **error_responses(409)},
                   summary="Give your seat back (before the lecture starts)")
    def delete(self, request: Request, lecture_id: int) -> Response:
        get_object_or_404(selectors.Lecture, pk=lecture_id)
        registration = services.lecture_cancel(lecture_id=lecture_id, borrower_id=borrower_of(request).pk,
                                               actor=_user(request))
        return Response(s.RegistrationSerializer(registration).data)
