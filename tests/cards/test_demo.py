"""The demo's tourist cards are made through the real services."""

import pytest

from cards.models import CardEvent, CardStatus, TouristCard
from console.demo_data import TRAVELLERS, seed_cards
from customers.models import Customer
from loyalty_admin.roles import CUSTOMER_CARE
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


def test_the_demo_has_cards_in_every_state_and_a_month_of_activations():
    assert seed_cards(clerk=make_staff(CUSTOMER_CARE)) == 2 * len(TRAVELLERS)
    statuses = set(TouristCard.objects.values_list("status", flat=True))
    assert statuses == set(CardStatus.values)
    assert CardEvent.objects.filter(kind=CardEvent.Kind.EXTENDED).exists()
    days = {card.activated_at.date() for card in TouristCard.objects.exclude(activated_at=None)}
    assert len(days) > 10
    assert Customer.objects.filter(customer_type=Customer.CustomerType.TOURIST).count() > 20
