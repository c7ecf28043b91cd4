from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone

from cards import services
from cards.models import CardEvent, CardStatus, TouristCard
from core.management.commands.worker import run_periodic
from customers.models import Customer, CustomerEvent, Order
from loyalty_admin.roles import CUSTOMER_CARE
from tests.cards.test_activation import TODAY, numbers, traveller
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk():
    return make_staff(CUSTOMER_CARE)


@pytest.fixture
def stock():
    batch = services.generate_batch(
        name="Life", prefix="9706", size=4, validity_days=10, store=None, actor=None
    )
    return numbers(batch)


@pytest.fixture
def card(stock, clerk):
    return services.activate(
        number=stock[0], traveller=traveller(), store=None, actor=clerk, today=TODAY
    )


def test_due_cards_expire_by_themselves_and_others_stay(card, stock, clerk):
    other = services.activate(
        number=stock[1],
        traveller=traveller(passport_number="P9999999", departure=TODAY + timedelta(days=40)),
        store=None,
        actor=clerk,
        today=TODAY,
    )
    assert services.expire_due(today=card.valid_until) == 0  # valid through its last day
    assert services.expire_due(today=card.valid_until + timedelta(days=1)) == 1
    card.refresh_from_db()
    other.refresh_from_db()
    assert (card.status, other.status) == (CardStatus.EXPIRED, CardStatus.ACTIVE)
    assert CardEvent.objects.filter(card=card, kind="expired").count() == 1
    assert CustomerEvent.objects.filter(
        customer=card.customer, kind="tourist_card", message="Tourist card expired"
    ).exists()


def test_the_command_expires_with_the_clock(card):
    with time_machine.travel(card.valid_until + timedelta(days=2), tick=False):
        call_command("expire_tourist_cards")
    card.refresh_from_db()
    assert card.status == CardStatus.EXPIRED


def test_the_workers_periodic_work_expires_due_cards(card):
    assert ("cards.services.expire_due", 60 * 60) in settings.WORKER_PERIODIC
    with time_machine.travel(card.valid_until + timedelta(days=1), tick=False):
        run_periodic({})
    card.refresh_from_db()
    assert card.status == CardStatus.EXPIRED


def test_extending_moves_the_date_forward_only_with_a_reason(card, clerk):
    with pytest.raises(ValidationError, match="Give the reason"):
        services.extend(
            card=card, valid_until=card.valid_until + timedelta(days=3), actor=clerk, reason=" "
        )
    with pytest.raises(ValidationError, match="must be after the current one"):
        services.extend(card=card, valid_until=card.valid_until, actor=clerk, reason="Flight moved")
    later = card.valid_until + timedelta(days=7)
    extended = services.extend(card=card, valid_until=later, actor=clerk, reason="Flight moved")
    assert extended.valid_until == later
    assert "Flight moved" in CardEvent.objects.get(card=card, kind="extended").reason


def test_voiding_ends_the_card_for_good(card, clerk):
    services.void(card=card, actor=clerk, reason="Stolen")
    card.refresh_from_db()
    assert card.status == CardStatus.VOID
    with pytest.raises(services.CardRefused, match="is void"):
        services.extend(card=card, valid_until=date(2030, 1, 1), actor=clerk, reason="x")


def test_replacing_moves_the_traveller_to_the_new_card_and_keeps_the_customer(card, stock, clerk):
    customer = card.customer
    Order.objects.create(
        number="T-1", customer=customer, total=Decimal(100_000), placed_at=timezone.now()
    )
    successor = services.replace(card=card, new_number=stock[2], actor=clerk, reason="Lost")
    card.refresh_from_db()
    assert card.status == CardStatus.REPLACED and card.replaced_by == successor
    assert successor.status == CardStatus.ACTIVE
    assert (successor.customer, successor.passport_number, successor.valid_until) == (
        customer,
        card.passport_number,
        card.valid_until,
    )
    assert customer.orders.count() == 1
    assert Customer.objects.count() == 1


def test_a_replacement_must_be_a_card_in_stock(card, clerk):
    with pytest.raises(services.CardRefused, match="already active"):
        services.replace(card=card, new_number=card.number, actor=clerk, reason="Lost")
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE


def test_converting_makes_a_full_member_and_keeps_everything(card, clerk):
    customer = card.customer
    Order.objects.create(
        number="T-2", customer=customer, total=Decimal(50_000), placed_at=timezone.now()
    )
    converted = services.convert(card=card, actor=clerk)
    card.refresh_from_db()
    assert card.status == CardStatus.CONVERTED
    assert converted.pk == customer.pk
    assert converted.customer_type == Customer.CustomerType.RETAIL
    assert converted.orders.count() == 1
    kinds = set(CardEvent.objects.filter(card=card).values_list("kind", flat=True))
    assert kinds == {"activated", "converted"}
    assert TouristCard.objects.filter(customer=customer).count() == 1
