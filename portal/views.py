"""Sign-in, sign-out, password, language and contact pages shared by every visitor."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from portal.forms import SignInForm
from portal.preferences import LANGUAGES, language_of, language_set


def landing_url(user: Any) -> str:
    """Where a signed-in person belongs: staff to the admin, borrowers to their dashboard."""
    if user.is_staff:
        return reverse("admin:index")
    return reverse("loans:dashboard")


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("portal:sign-in")
    return redirect(landing_url(request.user))


class SignInView(auth_views.LoginView):
    template_name = "portal/sign_in.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True
    extra_context = {"limit": settings.AXES_FAILURE_LIMIT}

    def get_default_redirect_url(self) -> str:
        return landing_url(self.request.user)

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_valid(form)
        language = language_of(form.get_user())
        if language:  # the borrower's saved language follows them to every browser
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                                max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax")
        return response


class SignOutView(auth_views.LogoutView):
    next_page = "portal:sign-in"


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "portal/password_change.html"
    success_url = reverse_lazy("portal:password-changed")


class PasswordChangedView(auth_views.PasswordChangeDoneView):
    template_name = "portal/password_changed.html"


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Set the page language: in a cookie for everyone, and on the profile of a borrower."""
    language = request.POST.get("language", "")
    if language not in LANGUAGES:
        return HttpResponseBadRequest("unknown language")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("portal:home")
    if request.user.is_authenticated:
        language_set(user=request.user, language=language)  # type: ignore[arg-type]
    response = HttpResponseRedirect(next_url)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language,
                        max_age=settings.LANGUAGE_COOKIE_AGE, samesite="Lax")
    return response


def contact(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/contact.html", {
        "hotline": settings.PORTAL_HOTLINE, "hotline_hours": settings.PORTAL_HOTLINE_HOURS,
    })
