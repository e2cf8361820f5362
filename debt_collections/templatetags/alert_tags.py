"""The alert badge in the admin header: a link to the inbox, a count kept fresh by alert-inbox.js."""

from __future__ import annotations

from typing import Any

from django import template
from django.conf import settings
from django.urls import reverse

register = template.Library()


@register.inclusion_tag("debt_collections/admin/alert_badge.html", takes_context=True)
def alert_badge(context: dict[str, Any]) -> dict[str, Any]:
    """Shown to staff who may read alerts. The count is not queried here (that would cost a query
    on every admin page): the script asks the feed as soon as the page has loaded."""
    request = context.get("request")
    user = getattr(request, "user", None)
    show = bool(user is not None and user.is_active and user.is_staff and user.has_perm("collections.view_alert"))
    if not show:
        return {"show": False}
    return {
        "show": True,
        "inbox_url": reverse("admin:collections_alert_inbox"),
        "feed_url": reverse("admin:collections_alert_feed"),
        "poll_seconds": settings.PORTAL_ALERT_POLL_SECONDS,
    }
