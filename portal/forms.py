from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _


class SignInForm(AuthenticationForm):
    """Borrowers sign in with their mobile number; staff with their staff username."""

    username = forms.CharField(
        label=_("Mobile number"), max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "tel"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The mobile number or password is not right. Please try again."),
    }
