from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    """The hotline appears in every page's footer."""
    return {"PORTAL_HOTLINE": settings.PORTAL_HOTLINE}
