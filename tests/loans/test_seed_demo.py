"""`manage.py seed_demo`: personas, staff logins and a seeded portfolio that the services could
have produced themselves.

One seeding of 300 loans (as of 2026-03-31, so aged through 2026-03-30) is shared by the
module inside a transaction that is rolled back at its end; each test runs in a savepoint.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import F, Sum

from loans import demo, services
from loans.books import books_problems
from loans.models import (
    COMPONENTS,
    Allocation,
    Borrower,
    EntryKind,
    Installment,
    InstallmentStatus,
    JournalEntry,
    Loan,
    LoanStatus,
    Payment,
    Segment,
    Stage,
)
from loans.validators import validate_mainland_mobile, validate_national_id
from portal import demo_logins
from portal.models import User
from portal.money import CENT, round_money
from tests.conftest import ALICE_ID, BOB_ID

AS_OF = dt.date(2026, 3, 31)
LAST_AGED = AS_OF - dt.timedelta(days=1)
LOANS, SEED = 300, 11
ONE_DAY = dt.timedelta(days=1)


@pytest.fixture(scope="module")
def seeding(django_db_setup: Any, django_db_blocker: Any) -> Any:
    with django_db_blocker.unblock(), transaction.atomic():
        out = io.StringIO()
        call_command("seed_demo", loans=LOANS, seed=SEED, as_of=AS_OF, if_empty=True, stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(seeding: str, db: Any) -> str:
    return seeding


def money(value: Any) -> Decimal:
    """SQLite sums decimals as floats: back to fen."""
    return Decimal(value or 0).quantize(CENT)


def portfolio() -> Any:
    return Loan.objects.exclude(reference__startswith="DEMO-")


def seeded_bills() -> Any:
    return Installment.objects.select_related("loan").exclude(loan__reference__startswith="DEMO-")


# --- What is written ---------------------------------------------------------------------------


def test_a_seeded_payment_sent_again_through_the_service_is_recognised_as_a_replay(seeded):
    for payment in Payment.objects.filter(idempotency_key__startswith="seed-")[:20]:
        result = services.payment_post(
            loan_id=payment.loan_id, amount=payment.amount, channel=payment.channel,
            idempotency_key=payment.idempotency_key, actor=None, business_date=payment.business_date,
        )
        assert result.replayed and result.payment.pk == payment.pk


def test_seeding_300_loans_writes_them_besides_the_four_personas(seeded):
    assert portfolio().count() == LOANS
    personas = Loan.objects.filter(reference__startswith="DEMO-")
    assert set(personas.values_list("reference", flat=True)) == {
        "DEMO-CURRENT", "DEMO-FIRSTLATE", "DEMO-DPD45", "DEMO-DPD95"}
    assert Borrower.objects.count() == User.objects.filter(borrower__isnull=False).count()
    assert Borrower.objects.filter(loans__isnull=True).count() == 0
    assert "Seeded 300 portfolio loans" in seeded


def test_every_stage_and_every_band_of_days_past_due_is_represented(seeded):
    loans = list(portfolio().values("status", "stage", "days_past_due"))
    active = [x for x in loans if x["status"] == LoanStatus.ACTIVE]
    assert {x["stage"] for x in active} == set(Stage.values)
    for low, high in ((1, 29), (30, 59), (60, 89), (90, 179), (180, 10_000)):
        assert any(low <= x["days_past_due"] <= high for x in active), (low, high)
    overdue = sum(1 for x in active if x["days_past_due"] > 0)
    assert 0.05 * LOANS <= overdue <= 0.15 * LOANS
    assert Counter(x["status"] for x in loans)[LoanStatus.SETTLED] > 0.2 * LOANS


def test_several_products_segments_and_languages_are_seeded(seeded):
    loans = portfolio()
    assert set(loans.values_list("product__code", flat=True)) == {p.code for p in demo.PRODUCTS}
    assert {t for t in loans.values_list("term_months", flat=True)} == {6, 12, 24}
    assert set(loans.values_list("repayment_method", flat=True)) == {
        "equal_installment", "equal_principal"}
    assert set(loans.values_list("grace_days", flat=True)) == {3}
    borrowers = Borrower.objects.all()
    assert borrowers.filter(segment=Segment.SMALL_BUSINESS).exists()
    assert borrowers.filter(preferred_language="en").exists()
    dates = loans.values_list("disbursed_on", flat=True)
    assert AS_OF - dt.timedelta(days=800) <= min(dates) and max(dates) <= LAST_AGED


def test_seeded_national_ids_and_mobiles_are_valid_and_unique(seeded):
    rows = list(Borrower.objects.values_list(
        "national_id", "mobile", "real_name", "user__username"))
    for national_id, mobile, name, username in rows:
        validate_national_id(national_id)
        validate_mainland_mobile(mobile)
        assert username == mobile
        assert 2 <= len(name) <= 3
    assert len({r[0] for r in rows}) == len({r[1] for r in rows}) == len(rows)


def test_a_national_id_gets_the_check_digit_of_all_seventeen_digits():
    assert demo.national_id("110105", dt.date(1949, 12, 31), 2) == ALICE_ID
    assert demo.national_id("110102", dt.date(1985, 6, 12), 3) == BOB_ID


def test_portfolio_borrowers_cannot_sign_in(seeded):
    user = User.objects.filter(borrower__loans__reference__startswith="L").first()
    assert user is not None and not user.has_usable_password()


# --- The invariants the services keep --------------------------------------------------------


def test_the_books_of_every_seeded_loan_add_up(seeded):
    loan_ids = list(Loan.objects.values_list("id", flat=True))
    assert books_problems(loan_ids=loan_ids, limit=5, audited=False) == []
    assert Payment.objects.filter(status="posted").exists()
    assert not Payment.objects.exclude(status="posted").exists()
    penalties = JournalEntry.objects.filter(kind=EntryKind.ACCRUAL).aggregate(total=Sum("penalty"))
    assert penalties["total"] > 0


def test_every_paid_bill_was_paid_by_payments_and_no_other_bill_was(seeded):
    paid_to: dict[int, Decimal] = defaultdict(Decimal)
    for installment_id, total in Allocation.objects.values_list(
        "installment_id", F("fees") + F("penalty") + F("interest") + F("principal")
    ):
        paid_to[installment_id] += money(total)
    for row in Installment.objects.values(
        "id", "status", *[f"{c}_{k}" for c in COMPONENTS for k in ("due", "paid", "waived")]
    ):
        paid = sum(row[f"{c}_paid"] for c in COMPONENTS)
        assert paid_to.get(row["id"], Decimal(0)) == paid
        owed = sum(row[f"{c}_due"] - row[f"{c}_paid"] - row[f"{c}_waived"] for c in COMPONENTS)
        assert (row["status"] == InstallmentStatus.PAID) == (owed == 0)


def test_bill_statuses_and_dates_are_what_the_close_of_business_leaves(seeded):
    paid_on = dict(Allocation.objects.values_list("installment_id", "payment__business_date"))
    for bill in seeded_bills():
        grace_end = bill.due_date + dt.timedelta(days=bill.loan.grace_days)
        assert bill.settled_on == paid_on.get(bill.pk)
        if bill.status == InstallmentStatus.PAID:
            assert bill.settled_on is not None
            late = bill.settled_on > grace_end + ONE_DAY  # unpaid at the close after the grace
        else:
            expected = (
                InstallmentStatus.OVERDUE if LAST_AGED > grace_end
                else InstallmentStatus.DUE if LAST_AGED >= bill.due_date
                else InstallmentStatus.PENDING
            )
            assert bill.status == expected
            late = LAST_AGED > grace_end
        assert bill.overdue_since == (grace_end + ONE_DAY if late else None)


def test_penalty_is_the_rounded_daily_charge_for_each_close_past_the_grace_days(seeded):
    for bill in seeded_bills():
        first = bill.due_date + dt.timedelta(days=bill.loan.grace_days + 1)
        last = min(bill.settled_on - ONE_DAY, LAST_AGED) if bill.settled_on else LAST_AGED
        days = max(0, (last - first).days + 1)
        charge = round_money(bill.principal_due * bill.loan.penalty_rate / Decimal(360))
        assert bill.penalty_due == charge * days


def test_loans_have_the_days_past_due_stage_status_and_ageing_date_of_their_bills(seeded):
    bills: dict[int, list[tuple[dt.date, str, dt.date | None]]] = defaultdict(list)
    for loan_id, due, status, settled_on in Installment.objects.values_list(
        "loan_id", "due_date", "status", "settled_on"
    ):
        bills[loan_id].append((due, status, settled_on))
    for loan in portfolio():
        unpaid = sorted(due for due, status, _ in bills[loan.pk] if status != "paid")
        if not unpaid:
            assert (loan.status, loan.stage, loan.days_past_due) == ("settled", "current", 0)
            last_paid = max(settled_on for _, _, settled_on in bills[loan.pk] if settled_on)
            assert loan.aged_through == last_paid - ONE_DAY
            continue
        overdue = LAST_AGED > unpaid[0] + dt.timedelta(days=loan.grace_days)
        assert loan.days_past_due == ((LAST_AGED - unpaid[0]).days if overdue else 0)
        assert loan.stage == services.stage_for(loan.days_past_due)
        assert (loan.status, loan.aged_through) == (LoanStatus.ACTIVE, LAST_AGED)


def test_accruals_are_dated_by_the_close_and_keep_one_entry_per_loan_and_date(seeded):
    entries = list(JournalEntry.objects.filter(kind=EntryKind.ACCRUAL).exclude(
        loan__reference__startswith="DEMO-").values("loan_id", "business_date", "memo"))
    assert entries
    for entry in entries:
        assert entry["business_date"] <= LAST_AGED
        assert entry["memo"].endswith(f"..{entry['business_date']} (seeded history)")
    assert len({(e["loan_id"], e["business_date"]) for e in entries}) == len(entries)


def _replay(loan: Loan, mobile: str, sequence: int) -> Loan:
    """The same loan through the services: the same payments on the same dates, aged daily."""
    borrower = services.borrower_register(
        mobile=mobile, real_name="复核", password=None,
        national_id=demo.national_id("110107", dt.date(2000, 1, 1), sequence),
    )
    copy = services.loan_disburse(borrower_id=borrower.pk, product_id=loan.product_id,
                                  principal=loan.principal, disbursed_on=loan.disbursed_on)
    payments = defaultdict(list)
    for payment in loan.payments.order_by("id"):
        payments[payment.business_date].append(payment)
    day = loan.disbursed_on
    while day <= LAST_AGED:
        for payment in payments.get(day, []):
            services.payment_post(loan_id=copy.pk, amount=payment.amount, channel=payment.channel,
                                  idempotency_key=f"replay-{payment.pk}", actor=None,
                                  business_date=day)
        services.loan_age(loan_id=copy.pk, business_date=day)
        day += ONE_DAY
    copy.refresh_from_db()
    return copy


def _bills(loan: Loan) -> list[tuple[Any, ...]]:
    fields = ["number", "due_date", "status", "overdue_since", "settled_on",
              *[f"{c}_{k}" for c in COMPONENTS for k in ("due", "paid", "waived")]]
    return [tuple(money(v) if isinstance(v, Decimal) else v for v in row)
            for row in loan.installments.order_by("number").values_list(*fields)]


def _journal(loan: Loan) -> dict[str, tuple[Decimal, ...]]:
    return {
        row["kind"]: tuple(money(row[c]) for c in COMPONENTS)
        for row in loan.journal.values("kind").annotate(**{c: Sum(c) for c in COMPONENTS})
    }


def test_sample_loans_replayed_through_the_services_come_out_the_same(seeded):
    """One loan of each stage, a settled one, one with a bill paid past its grace days and one
    paid before its due date: the services, fed the seeded payments, leave the same rows."""
    loans = portfolio().order_by("-disbursed_on")
    samples = {
        **{stage: loans.filter(status="active", stage=stage).first() for stage in Stage.values},
        "settled": loans.filter(status=LoanStatus.SETTLED).first(),
        "paid late": loans.filter(installments__status="paid",
                                  installments__overdue_since__isnull=False).first(),
        "paid early": loans.filter(payments__business_date__lt=F("installments__due_date"),
                                   payments__allocations__installment=F("installments__id")).first(),
    }
    assert None not in samples.values(), samples
    for n, (what, loan) in enumerate(samples.items()):
        copy = _replay(loan, mobile=f"139000010{n:02d}", sequence=100 + 2 * n + 1)
        seen = (copy.status, copy.stage, copy.days_past_due, copy.aged_through)
        assert seen == (loan.status, loan.stage, loan.days_past_due, loan.aged_through), what
        assert _bills(copy) == _bills(loan), what
        assert _journal(copy) == _journal(loan), what


# --- Same seed, same data; not twice --------------------------------------------------------------


def _planned(seed: int) -> list[tuple[Any, ...]]:
    terms = demo.ensure_products()
    planner = demo.PortfolioPlanner(loans=LOANS, seed=seed, as_of=AS_OF, terms=terms)
    return [
        (pl.reference, pl.terms.code, pl.principal, pl.disbursed_on,
         tuple(b.paid_on for b in pl.outcome.bills), pb.identity)
        for chunk in planner.borrowers_in_chunks(100) for pb in chunk for pl in pb.loans
    ]


def test_the_same_seed_gives_the_same_loans_and_another_seed_others(seeded):
    first = _planned(SEED)
    assert first == _planned(SEED)
    assert [x[:4] for x in first] != [x[:4] for x in _planned(SEED + 1)]
    written = list(portfolio().order_by("id").values_list(
        "reference", "product__code", "principal", "disbursed_on"))
    assert written == [x[:4] for x in first]


def test_seed_demo_with_if_empty_adds_nothing_to_a_database_with_loans(seeded):
    tables = (User, Borrower, Loan, Installment, Payment, Allocation, JournalEntry)
    counts = [m.objects.count() for m in tables]
    out = io.StringIO()
    call_command("seed_demo", loans=50, if_empty=True, as_of=AS_OF, stdout=out)
    assert [m.objects.count() for m in tables] == counts
    assert "nothing seeded" in out.getvalue()
    assert demo_logins.ADMIN_URL in out.getvalue()


def test_seed_demo_without_if_empty_refuses_a_database_with_loans(seeded):
    with pytest.raises(CommandError, match="already holds"):
        call_command("seed_demo", loans=50, as_of=AS_OF, stdout=io.StringIO())


# --- Personas and logins ----------------------------------------------------------------------


def _persona_loan(username: str) -> Loan:
    return Loan.objects.get(borrower__user__username=username)


def test_the_current_borrower_has_paid_every_bill_on_time(seeded):
    loan = _persona_loan(demo_logins.CURRENT_BORROWER)
    assert (loan.status, loan.stage, loan.days_past_due) == (LoanStatus.ACTIVE, Stage.CURRENT, 0)
    bills = list(loan.installments.all())
    assert all(b.overdue_since is None and b.penalty_due == 0 for b in bills)
    paid = [b for b in bills if b.status == InstallmentStatus.PAID]
    assert len(paid) >= 4 and all(b.settled_on == b.due_date for b in paid)
    assert all(b.status == InstallmentStatus.PENDING for b in bills if b.due_date > LAST_AGED)


def test_the_first_time_overdue_borrower_is_five_days_late_for_the_first_time(seeded):
    loan = _persona_loan(demo_logins.FIRST_TIME_OVERDUE_BORROWER)
    assert (loan.days_past_due, loan.stage) == (5, Stage.REMINDER)
    late = list(loan.installments.filter(overdue_since__isnull=False))
    assert len(late) == 1 and late[0].status == InstallmentStatus.OVERDUE
    assert late[0].due_date == LAST_AGED - dt.timedelta(days=5)
    assert loan.installments.filter(status=InstallmentStatus.PAID).count() >= 2
    assert late[0].penalty_due > 0


def test_the_first_time_overdue_borrower_may_ask_for_the_interest_free_extension(seeded):
    from loans.services.extensions import extension_quote

    loan = _persona_loan(demo_logins.FIRST_TIME_OVERDUE_BORROWER)
    quote = extension_quote(borrower=loan.borrower, loan=loan,
                            installments=list(loan.installments.all()), as_of=AS_OF)
    assert quote.eligible, quote.refusal


@pytest.mark.parametrize(("username", "days", "stage"), [
    (demo_logins.DPD45_BORROWER, 45, Stage.COLLECTIONS),
    (demo_logins.DPD95_BORROWER, 95, Stage.NON_PERFORMING),
])
def test_the_overdue_personas_are_as_late_as_they_promise(seeded, username, days, stage):
    loan = _persona_loan(username)
    assert (loan.days_past_due, loan.stage, loan.aged_through) == (days, stage, LAST_AGED)
    assert loan.installments.filter(status=InstallmentStatus.PAID).exists()
    assert _journal(loan)["accrual"][1] > 0  # penalty accrued, day by day
    assert loan.journal.filter(kind=EntryKind.ACCRUAL).count() > 30


def test_the_95_day_persona_is_a_small_business_owner(seeded):
    assert Borrower.objects.get(mobile=demo_logins.DPD95_BORROWER).segment == Segment.SMALL_BUSINESS


def test_staff_are_in_their_groups_and_admin_is_a_superuser(seeded):
    for login in demo_logins.DEMO_LOGINS:
        user = User.objects.get(username=login.username)
        if login.is_borrower:
            assert not user.is_staff and hasattr(user, "borrower")
            continue
        assert user.is_staff
        groups = list(user.groups.values_list("name", flat=True))
        assert groups == ([login.group] if login.group else [])
        assert user.is_superuser == login.is_superuser
    assert User.objects.get(username="admin").is_superuser


def test_every_demo_login_authenticates_with_the_documented_password(seeded, rf):
    for login in demo_logins.DEMO_LOGINS:
        assert login.password == demo_logins.DEMO_PASSWORD
        user = authenticate(rf.post("/"), username=login.username, password=login.password)
        assert user is not None and user.get_username() == login.username, login
    assert authenticate(rf.post("/"), username="agent", password="wrong") is None


def test_the_logins_table_names_every_login_and_the_admin(seeded):
    for login in demo_logins.DEMO_LOGINS:
        assert login.username in seeded
    assert demo_logins.ADMIN_URL in seeded and demo_logins.DEMO_PASSWORD in seeded
    assert "Borrowers sign in with their mobile number" in seeded
    if demo_logins.borrower_sign_in_url():
        assert demo_logins.borrower_sign_in_url() in seeded


# --- The next close of business continues where the seeding stopped -----------------------------


def test_the_close_of_business_of_the_as_of_date_adds_exactly_one_days_penalty(seeded):
    loan = portfolio().filter(stage=Stage.NON_PERFORMING).first()
    assert loan is not None
    daily = loan.penalty_rate / Decimal(360)
    expected = sum(
        round_money((b.principal_due - b.principal_paid - b.principal_waived) * daily)
        for b in loan.installments.all()
        if b.due_date + dt.timedelta(days=loan.grace_days) < AS_OF and b.status != "paid"
    )
    assert expected > 0
    result = services.loan_age(loan_id=loan.pk, business_date=AS_OF)
    assert not result.already_aged
    assert result.penalty_accrued == expected
    assert result.days_past_due == loan.days_past_due + 1
    again = services.loan_age(loan_id=loan.pk, business_date=AS_OF)
    assert again.already_aged and again.penalty_accrued == 0
    loan.refresh_from_db()
    assert loan.aged_through == AS_OF
    owed = loan.installments.aggregate(
        p=Sum(F("penalty_due") - F("penalty_paid") - F("penalty_waived")))
    assert money(owed["p"]) == money(loan.journal.aggregate(p=Sum("penalty"))["p"])


# --- simulate_loan against the services, at the edges of the grace days --------------------------

D = dt.date
EDGE_PAYMENTS = [
    D(2025, 11, 14),  # the first day past the grace days, before that day's close: not late
    D(2025, 12, 15),  # a day later: late once, one day's penalty
    D(2026, 2, 12),  # two bills on one day: the 33-day-late one, then the one in its grace days
    D(2026, 2, 12),
]


@pytest.mark.parametrize(("last_aged", "paid_on"), [
    (D(2026, 3, 30), [*EDGE_PAYMENTS, None, None]),  # 20 days past due
    (D(2026, 3, 14), [*EDGE_PAYMENTS, None, None]),  # 4 days: the first day it counts
    (D(2026, 3, 13), [*EDGE_PAYMENTS, None, None]),  # 3 days: still in the grace days
    (D(2026, 4, 20), [*EDGE_PAYMENTS, D(2026, 3, 10), D(2026, 4, 7)]),  # settled before the date
], ids=["20-days", "4-days", "in-grace", "settled-early"])
def test_simulate_loan_agrees_with_the_services_at_the_edges(db, last_aged, paid_on):
    terms = demo.ensure_products()["quick-6"]
    disbursed_on, principal = D(2025, 10, 10), Decimal("9000.00")
    outcome = demo.simulate_loan(terms=terms, principal=principal, disbursed_on=disbursed_on,
                                 paid_on=paid_on, last_aged=last_aged)
    borrower = services.borrower_register(mobile="13900001000", real_name="边界", password=None,
                                          national_id=demo.national_id("110107", D(2001, 1, 1), 1))
    loan = services.loan_disburse(borrower_id=borrower.pk, product_id=terms.product_id,
                                  principal=principal, disbursed_on=disbursed_on)
    day = disbursed_on
    while day <= last_aged:
        for number, paid in enumerate(paid_on, start=1):
            if paid == day:
                bill = loan.installments.get(number=number)
                assert bill.total_outstanding == outcome.bills[number - 1].amount
                services.payment_post(loan_id=loan.pk, amount=bill.total_outstanding,
                                      channel="app", idempotency_key=f"edge-{number}",
                                      actor=None, business_date=day)
        services.loan_age(loan_id=loan.pk, business_date=day)
        day += ONE_DAY
    loan.refresh_from_db()
    assert (loan.status, loan.stage, loan.days_past_due, loan.aged_through) == (
        outcome.status, outcome.stage, outcome.days_past_due, outcome.aged_through)
    assert [(b.status, b.overdue_since, b.settled_on, b.penalty_due)
            for b in loan.installments.order_by("number")] == [
        (b.status, b.overdue_since, b.paid_on, b.penalty) for b in outcome.bills]
    accrued = loan.journal.filter(kind=EntryKind.ACCRUAL).aggregate(p=Sum("penalty"))["p"]
    assert money(accrued) == sum((a.penalty for a in outcome.accruals), Decimal(0))


def test_the_demo_borrowers_sign_in_to_the_portal_and_see_their_loan(seeded, client):
    sign_in = demo_logins.borrower_sign_in_url()
    if sign_in is None:
        pytest.skip("the borrower portal has no sign-in page yet")
    path = sign_in.removeprefix(demo_logins.SITE_URL.rstrip("/"))
    for login in (d for d in demo_logins.DEMO_LOGINS if d.is_borrower):
        response = client.post(path, {"username": login.username, "password": login.password})
        assert response.status_code == 302, login
        page = client.get(response["Location"], follow=True)
        assert page.status_code == 200
        assert _persona_loan(login.username).reference in page.text
        client.logout()


def test_every_collecting_loan_has_an_open_case_shared_among_the_agents(seeded):
    from debt_collections.models import Case, CaseStatus, CloseOfBusinessRun, RunStatus

    collecting = Loan.objects.filter(status=LoanStatus.ACTIVE, stage__in=[
        Stage.COLLECTIONS, Stage.NON_PERFORMING, Stage.WRITE_OFF_CANDIDATE])
    cases = Case.objects.filter(status=CaseStatus.OPEN)
    assert set(cases.values_list("loan_id", flat=True)) == set(collecting.values_list("pk", flat=True))
    assert collecting.count() > 10
    assert not cases.filter(assigned_to__isnull=True).exists()
    assert CloseOfBusinessRun.objects.get(business_date=LAST_AGED).status == RunStatus.COMPLETED


def test_the_overdue_personas_cases_have_a_history_an_agent_would_find(seeded):
    from debt_collections.models import Case, ContactLog, PromiseToPay

    dpd45 = Case.objects.get(loan__reference="DEMO-DPD45")
    dpd95 = Case.objects.get(loan__reference="DEMO-DPD95")
    assert ContactLog.objects.filter(case=dpd45).count() == 2
    assert PromiseToPay.objects.filter(case=dpd45, status="pending").count() == 1
    assert ContactLog.objects.filter(case=dpd95, party="emergency_contact").count() == 1
    assert dpd95.borrower.emergency_contacts.count() == 2
