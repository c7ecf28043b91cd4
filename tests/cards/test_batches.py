import pytest
from django.core.exceptions import ValidationError

from cards import services
from cards.luhn import check_digit, is_valid
from cards.models import CardStatus, TouristCard
from loyalty_admin.roles import ADMINISTRATOR
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def generate(name="Summer 2027", prefix="9704", size=25, **extra):
    return services.generate_batch(
        name=name,
        prefix=prefix,
        size=size,
        validity_days=extra.get("validity_days", 30),
        store=None,
        actor=extra.get("actor"),
    )


def test_a_batch_numbers_its_cards_with_the_prefix_and_a_check_digit():
    batch = generate(actor=make_staff(ADMINISTRATOR))
    numbers = list(batch.cards.values_list("number", flat=True))
    assert len(numbers) == batch.size == 25
    assert all(len(n) == 16 and n.startswith("9704") and is_valid(n) for n in numbers)
    assert set(batch.cards.values_list("status", flat=True)) == {CardStatus.IN_STOCK}
    assert min(numbers) == "970400000000001" + min(numbers)[-1]


def test_a_second_batch_with_the_same_prefix_continues_the_sequence():
    generate(size=10)
    second = generate(name="Autumn", size=10)
    assert min(second.cards.values_list("number", flat=True))[:-1] == "970400000000011"
    assert TouristCard.objects.count() == 20


def test_a_large_batch_is_written_in_a_few_statements(django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        generate(size=12_000)
    assert TouristCard.objects.count() == 12_000


def test_every_generated_number_carries_the_check_digit_python_computes():
    # On PostgreSQL the database computes the digit (one INSERT … SELECT); on SQLite, Python.
    batch = generate(prefix="7", size=3_000)
    numbers = batch.cards.values_list("number", flat=True)
    assert all(n[:-1].startswith("7") and n[-1] == check_digit(n[:-1]) for n in numbers)
    assert len(set(numbers)) == 3_000


@pytest.mark.parametrize(
    ("prefix", "size", "message"),
    [
        ("97A4", 10, "1 to 8 digits"),
        ("", 10, "1 to 8 digits"),
        ("123456789", 10, "1 to 8 digits"),
        ("9704", 0, "1 to 100,000 cards"),
        ("9704", 100_001, "1 to 100,000 cards"),
    ],
)
def test_bad_batches_are_refused_with_the_reason(prefix, size, message):
    with pytest.raises(ValidationError, match=message):
        generate(prefix=prefix, size=size)
    assert not TouristCard.objects.exists()
