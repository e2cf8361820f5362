"""Notices on the collection case: printed from its page or for many cases, and in its timeline."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse

from notices import services
from portal import roles

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client: Any) -> Any:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_a_printed_notice_shows_in_the_case_timeline(client, private_media, alices_case, legal):
    notice = services.notice_generate(kind="payment_reminder", actor=legal, case_id=alices_case.pk)
    client.force_login(legal)
    page = client.get(reverse("admin:collections_case_change", args=[alices_case.pk])).content.decode()
    assert "Printed notice" in page and notice.reference in page


def test_the_case_page_links_to_printing_for_those_who_may_print(client, alices_case, legal, make_staff):
    url = reverse("admin:collections_case_change", args=[alices_case.pk])
    client.force_login(legal)
    assert 'id="print-notice"' in client.get(url).content.decode()
    client.force_login(make_staff("agatha", roles.AGENT))
    assert 'id="print-notice"' not in client.get(url).content.decode()


def test_the_case_queue_offers_printing_many_cases_at_once(client, alices_case, make_staff):
    client.force_login(make_staff("sue", roles.SUPERVISOR))
    page = client.get(reverse("admin:collections_case_changelist")).content.decode()
    assert 'value="print_notices_for_cases"' in page
