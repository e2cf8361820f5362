"""Both catalogues are complete, and the Chinese one is what the site shows by default."""

from __future__ import annotations

from pathlib import Path

import polib
import pytest
from django.urls import reverse
from django.utils import translation

from loans.models import Stage
from portal import roles

LOCALE = Path(__file__).resolve().parents[2] / "locale"


@pytest.mark.parametrize("language", ["zh_Hans", "en"])
def test_every_message_has_a_translation(language):
    catalogue = polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))
    untranslated = [e.msgid for e in catalogue.untranslated_entries()]
    fuzzy = [e.msgid for e in catalogue.fuzzy_entries()]
    assert untranslated == [] and fuzzy == []


def test_domain_messages_read_in_chinese_and_english():
    with translation.override("zh-hans"):
        assert str(Stage.COLLECTIONS.label) == "催收阶段（30 天以上）"
    with translation.override("en"):
        assert str(Stage.COLLECTIONS.label) == "Collections (30+ days)"


@pytest.mark.django_db
def test_the_admin_shows_the_loan_book_in_chinese_by_default(client, make_staff, alices_loan):
    client.force_login(make_staff("agnes", roles.AGENT))
    page = client.get(reverse("admin:loans_loan_changelist")).text
    assert "贷款账簿" in page and "逾期天数" in page
