"""Signing in with a mobile number, lock-out, sign-out, password change and the language switch."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal import roles

pytestmark = pytest.mark.django_db

SIGN_IN = "/sign-in/"


def sign_in(client, username, password):
    return client.post(SIGN_IN, {"username": username, "password": password})


def test_a_borrower_signs_in_with_a_mobile_number_and_lands_on_the_dashboard(client, alice):
    response = sign_in(client, "13800138000", "alice-pass-2026")
    assert response.status_code == 302 and response["Location"] == reverse("loans:dashboard")


def test_staff_are_sent_to_the_admin(client, make_staff):
    make_staff("agnes", roles.AGENT)
    response = sign_in(client, "agnes", "agnes-pass-2026")
    assert response["Location"] == reverse("admin:index")


def test_a_wrong_password_says_so_in_chinese_and_keeps_the_number(client, alice):
    response = sign_in(client, "13800138000", "wrong")
    assert response.status_code == 200
    assert "手机号码或密码不正确" in response.text
    assert 'value="13800138000"' in response.text


def test_the_number_is_locked_after_five_wrong_passwords(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, "13800138000", "wrong")
    response = sign_in(client, "13800138000", "alice-pass-2026")  # even the right one now
    assert response.status_code == 429
    assert "登录已被锁定" in response.text
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_session(client, alice):
    client.force_login(alice.user)
    client.post(reverse("portal:sign-out"))
    assert client.get(reverse("loans:dashboard"))["Location"].startswith("/sign-in/")


def test_a_borrower_changes_the_password(client, alice):
    client.force_login(alice.user)
    response = client.post(reverse("portal:password-change"), {
        "old_password": "alice-pass-2026", "new_password1": "a-much-better-2027", "new_password2": "a-much-better-2027",
    })
    assert response["Location"] == reverse("portal:password-changed")
    alice.user.refresh_from_db()
    assert alice.user.check_password("a-much-better-2027")


def test_the_language_choice_is_remembered_on_the_borrowers_profile(client, alice):
    client.force_login(alice.user)
    assert "我的贷款" in client.get(reverse("loans:dashboard")).text
    response = client.post(reverse("portal:language"), {"language": "en", "next": "/my/"})
    assert response["Location"] == "/my/"
    alice.refresh_from_db()
    assert alice.preferred_language == "en"
    client.cookies.clear()  # another browser: the profile still decides
    client.force_login(alice.user)
    page = client.get(reverse("loans:dashboard")).text
    assert "My loans" in page and "我的贷款" not in page


def test_signing_in_sets_the_borrowers_language_cookie(client, bob):
    sign_in(client, "13900139000", "bob-pass-2026")
    assert client.cookies["django_language"].value == "en"


def test_the_language_switch_refuses_unknown_languages_and_foreign_redirects(client, alice):
    assert client.post(reverse("portal:language"), {"language": "xx"}).status_code == 400
    response = client.post(reverse("portal:language"), {"language": "en", "next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_the_contact_page_shows_the_hotline_without_signing_in(client, settings):
    page = client.get(reverse("portal:contact")).text
    assert settings.PORTAL_HOTLINE in page
