import pytest

from cards.luhn import check_digit, is_valid, normalise


def test_a_known_number_passes():
    assert check_digit("7992739871") == "3"  # the textbook example
    assert is_valid("79927398713")
    assert is_valid("4111111111111111")


@pytest.mark.parametrize("position", range(16))
def test_every_single_mistyped_digit_is_caught(position):
    number = "4111111111111111"
    for wrong in "0123456789":
        if wrong != number[position]:
            typo = number[:position] + wrong + number[position + 1 :]
            assert not is_valid(typo)


def test_a_swap_of_neighbours_is_caught():
    assert is_valid("79927398713")
    assert not is_valid("97927398713")


@pytest.mark.parametrize("typed", ["", "7", "79927398A13", "7992 7398 714"])
def test_what_is_not_a_valid_number(typed):
    assert not is_valid(normalise(typed))


def test_scanned_or_typed_separators_are_dropped():
    assert normalise(" 7992-7398 713 ") == "79927398713"
