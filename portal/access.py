"""Who may see borrower pages: a signed-in user with a borrower profile, and only their own rows."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase


def borrower_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Sign-in for visitors; staff accounts have no borrower pages (403)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        borrower = getattr(request.user, "borrower", None)
        if borrower is None:
            raise PermissionDenied("borrower pages are for borrowers")
        request.borrower = borrower  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
