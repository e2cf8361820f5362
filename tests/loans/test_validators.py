"""Resident ID numbers and mainland mobile numbers, alone and through `borrower_register`.

Valid ID numbers are built here with the ISO 7064 MOD 11-2 check digit worked out by hand
(weights 2^(17-i) mod 11), independently of python-stdnum which the validator uses.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ValidationError

from loans import services
from loans.models import Borrower
from loans.validators import validate_mainland_mobile, validate_national_id
from portal.models import AuditEvent, User
from tests.conftest import ALICE_ID

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK_CHARACTERS = "10X98765432"


def full_width(value: str) -> str:
    """The same digits as typed with a Chinese input method's full-width mode (０-９)."""
    return value.translate({ord(c): ord(c) + 0xFEE0 for c in "0123456789"})


def with_check_digit(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return first17 + CHECK_CHARACTERS[total % 11]


def wrong_check_digit(first17: str) -> str:
    right = with_check_digit(first17)[-1]
    return first17 + ("1" if right != "1" else "2")


# --- National ID ----------------------------------------------------------------------------------


def test_the_hand_made_check_digit_agrees_with_the_shared_fixtures():
    assert with_check_digit(ALICE_ID[:17]) == ALICE_ID  # ends in X: remainder 2
    assert with_check_digit("11010219850612003") == "110102198506120035"


@pytest.mark.parametrize(
    "first17",
    [
        "11010519491231002",  # Beijing Chaoyang, 1949-12-31, check digit X
        "11010219850612003",  # Beijing Xicheng
        "44030419900101123",  # Shenzhen Futian
        "31011520000229456",  # Shanghai Pudong, born on a leap day
        "32010219880808001",  # Nanjing Xuanwu
    ],
)
def test_a_resident_id_with_a_real_birth_date_and_the_right_check_digit_is_valid(first17):
    validate_national_id(with_check_digit(first17))


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (wrong_check_digit("11010219850612003"), "wrong check digit"),
        (wrong_check_digit("11010519491231002"), "wrong check digit where X is right"),
        (with_check_digit("11010219850230003"), "30 February"),
        (with_check_digit("11010219851301003"), "13th month"),
        (with_check_digit("11010219850100003"), "day 0"),
        (with_check_digit("11010219010229003"), "29 February of a common year"),
        (with_check_digit("99010219850612003"), "no such region"),
        ("110102850612003", "15-digit first-generation card"),
        (with_check_digit("11010219850612003")[:-1], "17 characters"),
        (with_check_digit("11010219850612003") + "0", "19 characters"),
        ("11010219850612003A", "letter other than X as check character"),
        ("1101021985061200X5", "X in the middle"),
        ("", "empty"),
        ("11010219850612003 ", "check digit replaced by a space"),
    ],
)
def test_an_invalid_resident_id_is_refused(value, why):
    with pytest.raises(ValidationError) as refused:
        validate_national_id(value)
    assert refused.value.code == "invalid_national_id", why


def test_a_resident_id_born_in_the_future_is_refused():
    """A birth date that has not happened yet is not a real birth date."""
    with pytest.raises(ValidationError):
        validate_national_id(with_check_digit("11010220900101001"))  # born 2090-01-01


def test_a_resident_id_written_in_full_width_digits_is_refused():
    """Full-width digits (typed with a Chinese input method) are not the 18 ASCII characters
    stored and compared for uniqueness; accepting them lets one person register twice."""
    valid = with_check_digit("11010219850612003")
    assert full_width(valid) != valid

    with pytest.raises(ValidationError):
        validate_national_id(full_width(valid))


# --- Mobile numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mobile",
    [
        "13800138000",
        "13912345678",
        "15012345678",
        "15912345678",
        "18612345678",
        "18812345678",
        "19912345678",
        "19812345678",
        "17712345678",
    ],
)
def test_a_mainland_mobile_number_is_valid(mobile):
    validate_mainland_mobile(mobile)


@pytest.mark.parametrize(
    ("mobile", "why"),
    [
        ("1380013800", "10 digits"),
        ("138001380001", "12 digits"),
        ("1380013800a", "a letter"),
        ("138-0013-8000", "dashes"),
        ("138 0013 8000", "spaces"),
        ("+8613800138000", "+86 prefix"),
        ("8613800138000", "86 prefix without +"),
        ("008613800138000", "international prefix"),
        ("01012345678", "Beijing landline, 11 digits"),
        ("02112345678", "Shanghai landline, 11 digits"),
        ("07551234567", "Shenzhen landline, 11 digits"),
        ("12012345678", "no mobile range starts 120"),
        ("10012345678", "no mobile range starts 100"),
        ("23800138000", "mobiles start with 1"),
        ("", "empty"),
        (" 13800138000", "leading space"),
    ],
)
def test_a_number_that_is_not_an_11_digit_mainland_mobile_is_refused(mobile, why):
    with pytest.raises(ValidationError) as refused:
        validate_mainland_mobile(mobile)
    assert refused.value.code == "invalid_mobile", why


@pytest.mark.parametrize(
    "mobile",
    ["１３８００１３８０００", "١٣٨٠٠١٣٨٠٠٠"],
    ids=["full-width digits", "Arabic-Indic digits"],
)
def test_a_mobile_number_in_non_ascii_digits_is_refused(mobile):
    """str.isdigit() is true for these, but they are not the 11 ASCII digits that are stored,
    texted to and compared for uniqueness."""
    with pytest.raises(ValidationError):
        validate_mainland_mobile(mobile)


# --- borrower_register ----------------------------------------------------------------------------


def register(**overrides: object) -> Borrower:
    fields = {
        "mobile": "13700137000",
        "real_name": "赵敏",
        "national_id": ALICE_ID,
        "password": "zm-pass-2026",
    }
    merged: dict[str, Any] = fields | overrides
    return services.borrower_register(**merged)


def rows() -> tuple[int, int, int]:
    return User.objects.count(), Borrower.objects.count(), AuditEvent.objects.count()


@pytest.mark.django_db
def test_registering_with_a_lowercase_x_stores_the_id_in_capitals():
    borrower = register(national_id=ALICE_ID.lower())

    assert ALICE_ID.endswith("X")
    borrower.refresh_from_db()
    assert borrower.national_id == ALICE_ID
    assert borrower.user.username == "13700137000"
    assert borrower.user.check_password("zm-pass-2026")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides",
    [
        {"national_id": wrong_check_digit(ALICE_ID[:17])},
        {"national_id": with_check_digit("11010219850230003")},
        {"national_id": "110102850612003"},
        {"mobile": "1370013700"},
        {"mobile": "+8613700137000"},
        {"mobile": "01012345678"},
        {"mobile": "1370013700a"},
    ],
    ids=[
        "check digit",
        "30 February",
        "15-digit card",
        "10-digit mobile",
        "+86",
        "landline",
        "letter",
    ],
)
def test_registering_with_an_invalid_identifier_is_refused_and_writes_nothing(overrides):
    before = rows()

    with pytest.raises(ValidationError):
        register(**overrides)

    assert rows() == before


@pytest.mark.django_db
def test_the_same_national_id_cannot_register_twice(alice):
    before = rows()

    with pytest.raises(ValidationError):
        register(national_id=alice.national_id.lower())

    assert rows() == before


@pytest.mark.django_db
def test_the_same_mobile_number_cannot_register_twice(alice):
    before = rows()

    with pytest.raises(ValidationError):
        register(mobile=alice.mobile, national_id=with_check_digit("44030419900101123"))

    assert rows() == before


@pytest.mark.django_db
def test_the_same_mobile_number_in_full_width_digits_cannot_open_a_second_account(alice):
    before = rows()

    with pytest.raises(ValidationError):
        register(mobile=full_width(alice.mobile), national_id=with_check_digit("44030419900101123"))

    assert rows() == before


@pytest.mark.django_db
def test_the_same_national_id_in_full_width_digits_cannot_open_a_second_account(alice):
    before = rows()

    with pytest.raises(ValidationError):
        register(national_id=full_width(alice.national_id))

    assert rows() == before


@pytest.mark.django_db
def test_a_mobile_number_typed_in_full_width_digits_is_never_stored_as_such():
    """Refusing it or storing the 11 ASCII digits are both fine; storing ０-９ is not: texts
    go to `Borrower.mobile` and sign-in compares with the ASCII user name."""
    try:
        borrower = register(mobile=full_width("13700137000"))
    except ValidationError:
        return
    borrower.refresh_from_db()
    assert borrower.mobile == "13700137000"
