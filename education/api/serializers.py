from __future__ import annotations

from django.utils import translation
from rest_framework import serializers

from ..models import Article, Category, Lecture, LectureRegistration
from ..selectors import seats_left


class CategorySerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()
    published = serializers.IntegerField(read_only=True, help_text="Published articles in your language.")

    class Meta:
        model = Category
        fields = ["slug", "name", "published"]
        read_only_fields = fields

    def get_name(self, category: Category) -> str:
        english = (translation.get_language() or "").startswith("en")
        return category.name_en if english else category.name_zh


class ArticleSerializer(serializers.ModelSerializer):
    read = serializers.SerializerMethodField(help_text="You read it (in any language).")

    class Meta:
        model = Article
        fields = ["slug", "language", "title", "summary", "reading_minutes", "published_at", "read"]
        read_only_fields = fields

    def get_read(self, article: Article) -> bool:
        return article.story_id in self.context.get("read", set())


class ArticleVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Article
        fields = ["slug", "language", "title"]
        read_only_fields = fields


class ArticleDetailSerializer(serializers.ModelSerializer):
    body_html = serializers.CharField(read_only=True, help_text="Sanitised HTML, safe to show as it is.")
    categories = serializers.SlugRelatedField(  # type: ignore[var-annotated]
        slug_field="slug", many=True, read_only=True
    )
    other_versions = ArticleVersionSerializer(many=True, read_only=True)

    class Meta:
        model = Article
        fields = ["slug", "language", "title", "summary", "body_html", "reading_minutes", "published_at",
                  "categories", "other_versions"]
        read_only_fields = fields


class LectureSerializer(serializers.ModelSerializer):
    seats_left = serializers.SerializerMethodField()
    registered = serializers.BooleanField(source="mine", read_only=True, help_text="You hold a seat.")
    ends_at = serializers.DateTimeField(read_only=True)
    join_url = serializers.SerializerMethodField(help_text="Only for borrowers holding a seat.")
    recording_url = serializers.CharField(read_only=True, help_text="A link once there is a recording, else empty.")

    class Meta:
        model = Lecture
        fields = ["id", "title", "speaker", "language", "description", "starts_at", "ends_at", "duration_minutes",
                  "capacity", "seats_left", "registered", "join_url", "recording_url"]
        read_only_fields = fields

    def get_seats_left(self, lecture: Lecture) -> int:
        return seats_left(lecture)

    def get_join_url(self, lecture: Lecture) -> str | None:
        return lecture.join_url if getattr(lecture, "mine", False) else None


class LecturePageSerializer(serializers.Serializer):
    upcoming = LectureSerializer(many=True, read_only=True)
    past = LectureSerializer(many=True, read_only=True, help_text="Ended lectures with a recording.")


class RegistrationSerializer(serializers.ModelSerializer):
    lecture = serializers.IntegerField(source="lecture_id", read_only=True)

    class Meta:
        model = LectureRegistration
        fields = ["lecture", "status", "registered_at", "cancelled_at"]
        read_only_fields = fields
