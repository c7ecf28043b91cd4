from datetime import timedelta

import pytest

from cards import services
from customers.selectors import customers_matching
from loyalty_admin.roles import CUSTOMER_CARE
from tests.cards.test_activation import TODAY, numbers, traveller
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    clerk = make_staff(CUSTOMER_CARE)
    stock = numbers(
        services.generate_batch(
            name="Criteria", prefix="9707", size=3, validity_days=1, store=None, actor=None
        )
    )
    korean = services.activate(
        number=stock[0], traveller=traveller(), store=None, actor=clerk, today=TODAY
    )
    french = services.activate(
        number=stock[1],
        traveller=traveller(
            passport_number="FR123456", nationality="FR", full_name="MARTIN Léa", departure=TODAY
        ),
        store=None,
        actor=clerk,
        today=TODAY,
    )
    services.expire_due(today=french.valid_until + timedelta(days=1))
    local = CustomerFactory()
    return korean, french, local


def matching(query):
    return set(customers_matching(query).values_list("pk", flat=True))


def test_holding_a_card_active_expired_or_ever(people):
    korean, french, _local = people
    assert matching("tourist_card=active") == {korean.customer_id}
    assert matching("tourist_card=expired") == {french.customer_id}
    assert matching("tourist_card=any") == {korean.customer_id, french.customer_id}


def test_nationality_and_card_number(people):
    korean, french, _local = people
    assert matching("nationality=FR") == {french.customer_id}
    assert matching("nationality=FR&nationality=KR") == {korean.customer_id, french.customer_id}
    spaced = f"{korean.number[:4]} {korean.number[4:]}"
    assert matching(f"card_number={spaced}") == {korean.customer_id}


def test_the_criteria_combine_with_the_rest_of_the_language(people):
    korean, french, local = people
    assert matching("tourist_card=any&customer_type=tourist") == {
        korean.customer_id,
        french.customer_id,
    }
    assert local.pk not in matching("tourist_card=any")
