"""The loan book in the admin: visible to staff roles, money never editable, IDs masked."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loans.models import Loan
from portal import roles
from portal.admin_tools import CappedCountPaginator
from tests.conftest import ALICE_ID

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent(make_staff):
    return make_staff("agnes", roles.AGENT)


@pytest.fixture
def supervisor(make_staff):
    return make_staff("sam", roles.SUPERVISOR)


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_an_agent_sees_the_loan_list_and_the_loan(client, agent, alices_loan):
    client.force_login(agent)
    assert alices_loan.reference in client.get(reverse("admin:loans_loan_changelist")).text
    page = client.get(reverse("admin:loans_loan_change", args=[alices_loan.pk]))
    assert page.status_code == 200
    assert "2026-02-15" in page.text or "2026年2月15日" in page.text


def test_money_cannot_be_changed_or_added_through_the_admin(client, supervisor, alices_loan):
    client.force_login(supervisor)
    change_url = reverse("admin:loans_loan_change", args=[alices_loan.pk])
    response = client.post(change_url, {"principal": "1.00", "status": "settled"})
    assert response.status_code == 403
    assert client.get(reverse("admin:loans_loan_add")).status_code == 403
    alices_loan.refresh_from_db()
    assert str(alices_loan.principal) == "12000.00"
    assert client.post(reverse("admin:loans_loan_delete", args=[alices_loan.pk]), {"post": "yes"}).status_code == 403
    assert Loan.objects.filter(pk=alices_loan.pk).exists()


def test_an_agent_sees_the_national_id_masked(client, agent, alice):
    client.force_login(agent)
    page = client.get(reverse("admin:loans_borrower_change", args=[alice.pk])).text
    assert ALICE_ID not in page
    assert alice.masked_national_id in page
    assert "13800138000" not in page


def test_a_supervisor_may_see_the_full_national_id(client, supervisor, alice):
    client.force_login(supervisor)
    page = client.get(reverse("admin:loans_borrower_change", args=[alice.pk])).text
    assert ALICE_ID in page
    assert "13800138000" in page


def test_nobody_edits_or_deletes_the_audit_trail(client, make_staff, alices_loan):
    auditor = make_staff("audrey", roles.AUDITOR)
    client.force_login(auditor)
    from portal.models import AuditEvent

    event = AuditEvent.objects.filter(action="loan.disburse").get()
    assert client.get(reverse("admin:portal_auditevent_changelist")).status_code == 200
    assert client.post(reverse("admin:portal_auditevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    assert client.post(reverse("admin:portal_auditevent_change", args=[event.pk]), {"action": "x"}).status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "loan.disburse"


def test_the_loan_list_costs_the_same_queries_for_three_or_thirty_loans(client, supervisor, bob, make_loan):
    client.force_login(supervisor)
    url = reverse("admin:loans_loan_changelist")
    for _ in range(3):
        make_loan(bob)
    few = queries_for(client, url)
    for _ in range(27):
        make_loan(bob)
    assert queries_for(client, url) == few


def test_a_loan_page_costs_the_same_queries_for_short_and_long_schedules(client, supervisor, bob, make_loan, product):
    from loans.models import Product

    client.force_login(supervisor)
    short = make_loan(bob)
    long_product = Product.objects.create(
        code="long-36", name="Long", annual_rate=product.annual_rate,
        repayment_method=product.repayment_method, term_months=36,
    )
    long = make_loan(bob, product_=long_product)
    # The first page of a process also fills Django's content-type cache: one query, once.
    queries_for(client, reverse("admin:loans_loan_change", args=[short.pk]))
    assert queries_for(client, reverse("admin:loans_loan_change", args=[short.pk])) == queries_for(
        client, reverse("admin:loans_loan_change", args=[long.pk])
    )


def test_the_borrower_list_and_payment_list_cost_fixed_queries(client, supervisor, alice, bob, make_loan):
    from loans import services
    from tests.conftest import FIRST_DUE

    client.force_login(supervisor)
    loan = make_loan(alice)
    services.payment_post(loan_id=loan.pk, amount="100.00", channel="app", idempotency_key="a1",
                          actor=None, business_date=FIRST_DUE)
    borrowers = queries_for(client, reverse("admin:loans_borrower_changelist"))
    payments = queries_for(client, reverse("admin:loans_payment_changelist"))
    for n in range(2, 12):
        services.payment_post(loan_id=loan.pk, amount="10.00", channel="app", idempotency_key=f"a{n}",
                              actor=None, business_date=FIRST_DUE)
    make_loan(bob)
    assert queries_for(client, reverse("admin:loans_borrower_changelist")) == borrowers
    assert queries_for(client, reverse("admin:loans_payment_changelist")) == payments


def test_staff_can_switch_the_admin_to_english(client, agent):
    client.force_login(agent)
    chinese = client.get("/admin/").text
    assert 'name="language"' in chinese and "注销" in chinese
    response = client.post(reverse("portal:language"), {"language": "en", "next": "/admin/"})
    assert response.status_code == 302 and response["Location"] == "/admin/"
    english = client.get("/admin/").text
    assert "Log out" in english and "注销" not in english


def test_each_view_of_a_full_identity_is_an_audited_reveal(client, supervisor, agent, alice):
    from portal.models import AuditEvent

    client.force_login(supervisor)
    listing = client.get(reverse("admin:loans_borrower_changelist")).text
    assert ALICE_ID not in listing and "13800138000" not in listing  # lists stay masked
    assert not AuditEvent.objects.filter(action="borrower.identity_reveal").exists()
    client.get(reverse("admin:loans_borrower_change", args=[alice.pk]))
    client.get(reverse("admin:loans_borrower_change", args=[alice.pk]))
    reveals = AuditEvent.objects.filter(action="borrower.identity_reveal", object_id=str(alice.pk))
    assert reveals.count() == 2 and {e.actor_id for e in reveals} == {supervisor.pk}
    client.force_login(agent)
    client.get(reverse("admin:loans_borrower_change", args=[alice.pk]))
    assert reveals.count() == 2  # a masked view reveals nothing


def test_the_loan_list_counts_loans_only_up_to_the_cap(client, supervisor, bob, make_loan, monkeypatch):
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    for _ in range(4):
        make_loan(bob)
    client.force_login(supervisor)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("admin:loans_loan_changelist")).text
    assert "more than 3 loans" in page and "4 loans" not in page
    found = client.get(reverse("admin:loans_loan_changelist"), {"q": bob.real_name}).text
    assert "more than 3 results" in found and "4 results" not in found

    monkeypatch.setattr(CappedCountPaginator, "cap", 10)
    page = client.get(reverse("admin:loans_loan_changelist")).text
    assert "4 loans" in page and "more than" not in page
