"""Who may call what.

Borrower endpoints: a signed-in user with a borrower profile, and only their own rows (views
look objects up through the borrower, so another borrower's id is a 404). Staff endpoints: an
active staff member holding every permission the view names for the method: the permissions
portal/roles.py gives each role, the ones the admin checks for the same screens.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from loans.models import Borrower
from portal.models import User


class IsBorrower(BasePermission):
    message = _("These endpoints are for borrowers.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "borrower", None) is not None)


def borrower_of(request: Request) -> Borrower:
    borrower = getattr(request.user, "borrower", None)
    if not isinstance(borrower, Borrower):  # IsBorrower let the request in: never happens
        raise exceptions.PermissionDenied(IsBorrower.message)
    return borrower


def user_of(request: Request) -> User:
    user = request.user
    if not isinstance(user, User):
        raise exceptions.NotAuthenticated()
    return user


class StaffPermission(BasePermission):
    """`view.required_permissions = {"GET": [...], "POST": [...]}`: all of them, as the admin asks."""

    message = _("You do not have permission to do this.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        method = "GET" if request.method in ("HEAD", "OPTIONS") else request.method
        required: dict[str, list[str]] = getattr(view, "required_permissions", {})
        wanted = required.get(method or "GET")
        if wanted is None:  # a method the view does not offer: 405 comes next
            return True
        return bool(user.has_perms(wanted))
