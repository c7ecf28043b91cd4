import pytest
from django.core.exceptions import ValidationError

from wholesale.tax_id import is_valid_tax_id, normalise_tax_id


def test_a_published_example_passes():
    assert normalise_tax_id("0314409058") == "0314409058"


@pytest.mark.parametrize("typed", ["0314409058-002", "0314409058002", " 0314 409 058-002 "])
def test_a_branch_code_is_stored_with_its_dash(typed):
    assert normalise_tax_id(typed) == "0314409058-002"


def test_a_wrong_check_digit_is_refused_with_the_reason():
    with pytest.raises(ValidationError) as caught:
        normalise_tax_id("0314409059")
    assert caught.value.messages == [
        "0314409059 is not a valid tax ID: its check digit does not match."
    ]


@pytest.mark.parametrize("typed", ["", "031440905", "03144090588", "0314409058-01", "abc"])
def test_a_wrong_shape_is_refused(typed):
    with pytest.raises(ValidationError) as caught:
        normalise_tax_id(typed)
    assert caught.value.code == "shape"


def test_branch_zero_is_refused():
    with pytest.raises(ValidationError, match="001 to 999"):
        normalise_tax_id("0314409058-000")


def test_every_single_digit_typo_in_the_body_is_caught():
    # The weights are coprime with 11, so one changed digit always changes the check.
    valid = "0314409058"
    for position in range(9):
        for digit in "0123456789":
            if digit != valid[position]:
                typo = valid[:position] + digit + valid[position + 1 : 9]
                assert not is_valid_tax_id(typo + valid[9])
