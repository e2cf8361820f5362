"""`make run` seeds the demo as of today: the case history must fit the cases it opens."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from debt_collections.models import Case, ContactLog
from portal.calendar import business_today

pytestmark = pytest.mark.django_db


def test_seeding_the_demo_as_of_today_gives_the_personas_cases_with_a_history():
    call_command("seed_demo", loans=30, as_of=business_today(), stdout=io.StringIO())
    dpd95 = Case.objects.get(loan__reference="DEMO-DPD95")
    contacts = ContactLog.objects.filter(case=dpd95)
    assert contacts.count() == 4
    assert all(contact.at.date() >= dpd95.opened_on for contact in contacts)
