"""The site's URLs plus an API view that fails, to see what a 500 looks like."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Boom(APIView):
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT secret_column FROM no_such_table_xyz")
        return Response({})


urlpatterns = [
    path("api/v1/boom/", Boom.as_view()),
    path("", include("portal.urls")),
]
