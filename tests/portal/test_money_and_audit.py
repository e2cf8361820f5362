"""Exact money, typed environment settings, masking, and the append-only audit trail and journal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction

from loans import services
from loans.models import Allocation, EntryKind, JournalEntry
from portal.append_only import AppendOnlyError
from portal.audit import audit_record
from portal.envconf import env_bool, env_int, env_list, env_str
from portal.errors import DomainError, InvalidAmount
from portal.masking import mask_mobile, mask_national_id
from portal.models import AuditEvent, User
from portal.money import MAX_AMOUNT, parse_amount, round_money

# --- parse_amount ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("12.30", Decimal("12.30")),
        ("12.3", Decimal("12.30")),
        (Decimal("5"), Decimal("5.00")),
        (7, Decimal("7.00")),
        (" 1,000.00 ", Decimal("1000.00")),
        ("1,234,567.89", Decimal("1234567.89")),
        ("0.01", Decimal("0.01")),
        ("1.000", Decimal("1.00")),  # a trailing zero is still exactly one yuan
        ("999999999999.99", Decimal("999999999999.99")),  # the largest a money column holds
    ],
)
def test_parse_amount_accepts_an_exact_positive_amount_in_fen(raw, expected):
    value = parse_amount(raw)

    assert value == expected
    assert value.as_tuple().exponent == -2  # always two places, ready for a money column


def test_the_largest_amount_is_what_a_money_column_holds():
    assert MAX_AMOUNT == Decimal(10) ** 12 - Decimal("0.01")


@pytest.mark.parametrize(
    "raw",
    [
        12.3,
        0.1,
        1.0,
        float("nan"),  # floats, even round ones: their decimal value is not exact
        "1.001",
        "0.005",
        Decimal("2.675"),  # more than two places: refused, never rounded
        "0",
        "0.00",
        "-0",
        "-1",
        "-0.01",
        Decimal("-5"),
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-Infinity",
        "inf",
        "",
        "   ",
        "abc",
        "12,3a",
        "¥100",
        "12 34",
        None,
        True,
        "1000000000000.00",
        "999999999999.999",
    ],
)
def test_parse_amount_refuses_anything_that_is_not_an_exact_positive_amount(raw):
    with pytest.raises(InvalidAmount) as refused:
        parse_amount(raw)
    assert isinstance(refused.value, DomainError) and refused.value.code == "invalid_amount"


@pytest.mark.parametrize("raw", ["1e30", "10000000000000000000000000000", "1E+100"])
def test_parse_amount_refuses_a_huge_amount_as_too_large_instead_of_crashing(raw):
    with pytest.raises(InvalidAmount):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["1e3", "1_000", "１００", "٣", "0x10", "+5", ".5"])
def test_parse_amount_takes_only_plain_ascii_digits(raw):
    with pytest.raises(InvalidAmount):
        parse_amount(raw)


@pytest.mark.parametrize("raw", ["1,00", "12,34", "1,0000.00", "1,2,3"])
def test_parse_amount_refuses_commas_that_are_not_thousands_separators(raw):
    """A borrower who types "12,34" (a decimal comma) must not be charged ¥1,234."""
    with pytest.raises(InvalidAmount):
        parse_amount(raw)


# --- round_money ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exact", "rounded"),
    [
        ("0.005", "0.01"),
        ("2.675", "2.68"),  # as a Decimal; the float 2.675 is 2.67499… and would round down
        ("1.115", "1.12"),
        ("0.0049999", "0.00"),
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # half-up, not banker's rounding (which gives 0.02)
        ("-0.005", "-0.01"),  # half away from zero
        ("3", "3.00"),
    ],
)
def test_round_money_rounds_half_up_to_the_fen(exact, rounded):
    result = round_money(Decimal(exact))

    assert result == Decimal(rounded)
    assert result.as_tuple().exponent == -2


# --- envconf --------------------------------------------------------------------------------------


def test_env_str_returns_the_value_or_the_default():
    assert env_str("NAME", "fallback", environ={}) == "fallback"
    assert env_str("NAME", "fallback", environ={"NAME": ""}) == ""
    assert env_str("NAME", "fallback", environ={"NAME": "set"}) == "set"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        (" YES ", True),
        ("On", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_env_bool_reads_the_usual_spellings(raw, expected):
    assert env_bool("FLAG", not expected, environ={"FLAG": raw}) is expected


def test_env_bool_uses_the_default_only_when_the_variable_is_missing():
    assert env_bool("FLAG", True, environ={}) is True
    assert env_bool("FLAG", False, environ={}) is False


@pytest.mark.parametrize("raw", ["maybe", "2", "tru", "y es", "enabled"])
def test_env_bool_fails_loudly_on_anything_else(raw):
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False, environ={"FLAG": raw})


def test_env_int_reads_whole_numbers():
    assert env_int("N", 5, environ={}) == 5
    assert env_int("N", 5, environ={"N": " 42 "}) == 42
    assert env_int("N", 5, minimum=1, environ={"N": "1"}) == 1


@pytest.mark.parametrize("raw", ["", "abc", "3.5", "1e3", "ten"])
def test_env_int_fails_loudly_on_a_value_that_is_not_a_whole_number(raw):
    with pytest.raises(ImproperlyConfigured, match="N must be a whole number"):
        env_int("N", 5, environ={"N": raw})


def test_env_int_fails_loudly_below_its_minimum():
    with pytest.raises(ImproperlyConfigured, match="at least 1"):
        env_int("N", 5, minimum=1, environ={"N": "0"})


def test_env_list_splits_on_commas_and_drops_blanks():
    assert env_list("HOSTS", ["default"], environ={"HOSTS": " a.example , b.example,, "}) == [
        "a.example",
        "b.example",
    ]
    assert env_list("HOSTS", ["default"], environ={"HOSTS": ""}) == []


def test_env_list_returns_a_copy_of_the_default():
    default = ["127.0.0.1"]
    found = env_list("HOSTS", default, environ={})
    found.append("evil.example")

    assert default == ["127.0.0.1"]


# --- Masking --------------------------------------------------------------------------------------


def test_a_national_id_shows_only_its_region_prefix_and_last_four_characters():
    masked = mask_national_id("11010519491231002X")

    assert masked == "110" + "*" * 11 + "002X"
    assert len(masked) == 18
    assert "19491231" not in masked  # the birth date is hidden


def test_a_mobile_shows_only_its_first_three_and_last_four_digits():
    assert mask_mobile("13812345678") == "138****5678"


@pytest.mark.parametrize("value", ["", "1", "1234567"])
def test_a_value_too_short_to_mask_partly_is_masked_completely(value):
    assert mask_mobile(value) == "*" * len(value)
    assert mask_national_id(value) == "*" * len(value)


@pytest.mark.django_db
def test_a_borrower_is_shown_with_masked_identifiers(alice):
    assert alice.masked_mobile == "138****8000"
    assert alice.masked_national_id == alice.national_id[:3] + "*" * 11 + alice.national_id[-4:]
    assert alice.mobile not in str(alice)
    assert alice.masked_mobile in str(alice)


# --- Append-only tables ---------------------------------------------------------------------------


@pytest.fixture
def event(charlie: User) -> AuditEvent:
    with transaction.atomic():
        return audit_record(
            actor=charlie,
            action="test.thing",
            target=charlie,
            summary="original",
            before={"amount": Decimal("1.10")},
            after={"amount": Decimal("2.20")},
        )


@pytest.fixture
def entry(alices_loan) -> JournalEntry:
    return JournalEntry.objects.get(loan=alices_loan, kind=EntryKind.DISBURSEMENT)


def as_stored(row) -> dict:
    return type(row).objects.filter(pk=row.pk).values().get()


@pytest.mark.django_db
def test_audit_record_writes_who_did_what_to_which_record(event, charlie):
    stored = AuditEvent.objects.get(pk=event.pk)

    assert (stored.actor, stored.actor_label, stored.action) == (charlie, "charlie", "test.thing")
    assert (stored.object_type, stored.object_id) == ("portal.user", str(charlie.pk))
    assert stored.before == {"amount": "1.10"} and stored.after == {
        "amount": "2.20"
    }  # exact, as text


@pytest.mark.django_db
def test_audit_record_without_a_person_uses_the_job_label(charlie):
    with transaction.atomic():
        stored = audit_record(
            actor=None, action="test.job", target=charlie, actor_label="close-of-business"
        )

    assert stored.actor is None and stored.actor_label == "close-of-business"


@pytest.mark.django_db
@pytest.mark.parametrize("row_name", ["event", "entry"])
def test_an_append_only_row_cannot_be_saved_again(request, row_name):
    row = request.getfixturevalue(row_name)
    before = as_stored(row)
    row.memo = row.summary = "tampered"

    with pytest.raises(AppendOnlyError):
        row.save()

    assert as_stored(row) == before


@pytest.mark.django_db
@pytest.mark.parametrize("row_name", ["event", "entry"])
def test_an_append_only_row_cannot_be_deleted(request, row_name):
    row = request.getfixturevalue(row_name)

    with pytest.raises(AppendOnlyError):
        row.delete()

    assert type(row).objects.filter(pk=row.pk).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("row_name", ["event", "entry"])
def test_an_append_only_table_refuses_bulk_updates_and_deletes(request, row_name):
    row = request.getfixturevalue(row_name)
    model = type(row)
    before = as_stored(row)
    field = "summary" if model is AuditEvent else "memo"

    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).update(**{field: "tampered"})
    with pytest.raises(AppendOnlyError):
        model.objects.all().update(**{field: "tampered"})
    with pytest.raises(AppendOnlyError):
        model.objects.filter(pk=row.pk).delete()
    with pytest.raises(AppendOnlyError):
        model.objects.all().delete()
    setattr(row, field, "tampered")
    with (
        pytest.raises(AppendOnlyError),
        transaction.atomic(),
    ):  # bulk_update's own atomic is no savepoint
        model.objects.bulk_update([row], [field])

    assert as_stored(row) == before


@pytest.mark.django_db
def test_a_loans_journal_cannot_be_changed_through_the_loan(alices_loan, entry):
    before = as_stored(entry)

    with pytest.raises(AppendOnlyError):
        alices_loan.journal.all().update(memo="tampered")
    with pytest.raises(AppendOnlyError):
        alices_loan.journal.all().delete()

    assert as_stored(entry) == before


@pytest.mark.django_db
def test_allocations_are_append_only_too(alices_loan):
    result = services.payment_post(
        loan_id=alices_loan.pk,
        amount="100.00",
        channel="app",
        idempotency_key="k",
        actor=None,
        business_date=dt.date(2026, 2, 1),
    )
    allocation = Allocation.objects.get(payment=result.payment)

    with pytest.raises(AppendOnlyError):
        Allocation.objects.filter(pk=allocation.pk).update(principal=Decimal("0"))
    with pytest.raises(AppendOnlyError):
        allocation.delete()


@pytest.mark.django_db
@pytest.mark.parametrize("row_name", ["event", "entry"])
def test_a_new_instance_with_an_existing_id_cannot_overwrite_an_append_only_row(request, row_name):
    """Saving an unsaved instance that carries the id of a stored row makes Django UPDATE that
    row (it tries an UPDATE first when the id is set); the append-only guard must stop it."""
    row = request.getfixturevalue(row_name)
    before = as_stored(row)
    impostor = type(row)(**{k: v for k, v in before.items()})
    impostor.memo = impostor.summary = "overwritten"
    assert impostor._state.adding

    try:
        with transaction.atomic():
            impostor.save()
    except (AppendOnlyError, IntegrityError):
        pass  # refused by the guard, or by the primary key when forced to insert

    assert as_stored(row) == before


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction(charlie):
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        audit_record(actor=charlie, action="test.outside", target=charlie)

    assert not AuditEvent.objects.filter(action="test.outside").exists()


@pytest.mark.django_db(transaction=True)
def test_an_audit_event_rolls_back_with_the_change_it_describes(charlie):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        audit_record(actor=charlie, action="test.rolled_back", target=charlie)
        raise Boom

    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
