"""The pages that change an active card: each confirms first, says why when refused and keeps
what was typed, and is open to Customer care and Administrators only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cards import services
from cards.models import CardEvent, CardStatus, TouristCard
from customers.models import Customer, CustomerEvent
from loyalty_admin.roles import CUSTOMER_CARE, MARKETING, SALES
from tests.cards.test_activation import numbers, traveller
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def stock():
    batch = services.generate_batch(
        name="Pages", prefix="9720", size=3, validity_days=10, store=None, actor=None
    )
    return numbers(batch)


@pytest.fixture
def card(stock):
    today = timezone.localdate()
    return services.activate(
        number=stock[0],
        traveller=traveller(arrival=today - timedelta(days=1), departure=today + timedelta(days=5)),
        store=None,
        actor=make_staff(CUSTOMER_CARE, username="desk"),
    )


def url(name, card):
    return reverse(f"cards:{name}", args=[card.pk])


def test_the_card_page_offers_the_changes_to_care_only(staff_client, card):
    care = staff_client(CUSTOMER_CARE).get(url("detail", card)).content.decode()
    assert url("extend", card) in care and url("void", card) in care
    assert url("replace", card) in care and url("convert", card) in care
    sales = staff_client(SALES).get(url("detail", card)).content.decode()
    assert 'data-testid="card-actions"' not in sales


@pytest.mark.parametrize("role", [SALES, MARKETING])
@pytest.mark.parametrize("name", ["extend", "void", "replace", "convert"])
def test_sales_and_marketing_cannot_change_a_card(staff_client, card, role, name):
    client = staff_client(role)
    assert client.get(url(name, card)).status_code == 403
    assert client.post(url(name, card), {"reason": "x", "why": "lost"}).status_code == 403
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE


def test_extend_confirms_then_moves_the_date_with_its_reason(staff_client, card):
    client = staff_client(CUSTOMER_CARE)
    page = client.get(url("extend", card)).content.decode()
    assert f'value="{card.valid_until.isoformat()}"' in page
    later = card.valid_until + timedelta(days=7)
    response = client.post(
        url("extend", card), {"valid_until": later.isoformat(), "reason": "Flight moved"}
    )
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.valid_until == later
    assert "Flight moved" in card.events.get(kind=CardEvent.Kind.EXTENDED).reason


def test_extend_refuses_an_earlier_date_and_keeps_the_reason(staff_client, card):
    earlier = card.valid_until - timedelta(days=1)
    body = (
        staff_client(CUSTOMER_CARE)
        .post(url("extend", card), {"valid_until": earlier.isoformat(), "reason": "Typo here"})
        .content.decode()
    )
    assert "must be after the current one" in body and "Typo here" in body
    assert TouristCard.objects.get(pk=card.pk).valid_until == card.valid_until


def test_extend_without_a_reason_is_refused(staff_client, card):
    later = card.valid_until + timedelta(days=3)
    body = (
        staff_client(CUSTOMER_CARE)
        .post(url("extend", card), {"valid_until": later.isoformat(), "reason": ""})
        .content.decode()
    )
    assert "This field is required." in body
    assert TouristCard.objects.get(pk=card.pk).valid_until == card.valid_until


def test_void_records_why_and_shows_on_the_timeline(staff_client, card):
    client = staff_client(CUSTOMER_CARE)
    page = client.get(url("void", card)).content.decode()
    assert "btn-danger" in page and "never be used again" in page
    client.post(url("void", card), {"why": "stolen", "note": "Reported at the desk"})
    card.refresh_from_db()
    assert card.status == CardStatus.VOID
    assert card.events.get(kind=CardEvent.Kind.VOIDED).reason == "Stolen: Reported at the desk"
    assert CustomerEvent.objects.filter(customer=card.customer, message__contains="voided").exists()


def test_a_void_card_cannot_be_voided_again_and_says_so(staff_client, card):
    client = staff_client(CUSTOMER_CARE)
    client.post(url("void", card), {"why": "lost"})
    again = client.get(url("void", card), follow=True)
    assert again.redirect_chain[-1][0] == url("detail", card)
    assert "this cannot be done to it now" in again.content.decode()
    refused = client.post(url("void", card), {"why": "lost"}).content.decode()
    assert "this cannot be done to it now" in refused
    assert card.events.filter(kind=CardEvent.Kind.VOIDED).count() == 1


def test_replace_moves_the_traveller_to_the_new_card(staff_client, card, stock):
    client = staff_client(CUSTOMER_CARE)
    response = client.post(url("replace", card), {"new_number": stock[1], "reason": "Lost"})
    successor = TouristCard.objects.get(number=stock[1])
    assert response.url == url("detail", successor)
    assert successor.status == CardStatus.ACTIVE and successor.customer == card.customer
    card.refresh_from_db()
    assert card.status == CardStatus.REPLACED and card.replaced_by == successor
    assert card.number in client.get(url("detail", successor)).content.decode()


def test_replace_refuses_a_card_that_is_not_in_stock_and_keeps_the_number(staff_client, card):
    wrong = card.number[:-1] + str((int(card.number[-1]) + 1) % 10)
    body = (
        staff_client(CUSTOMER_CARE)
        .post(url("replace", card), {"new_number": wrong, "reason": "Lost"})
        .content.decode()
    )
    assert "check digit is wrong" in body and f'value="{wrong}"' in body
    card.refresh_from_db()
    assert card.status == CardStatus.ACTIVE


def test_convert_makes_a_retail_member_from_the_page(staff_client, card):
    response = staff_client(CUSTOMER_CARE).post(url("convert", card))
    customer = Customer.objects.get(pk=card.customer_id)
    assert response.url == customer.get_absolute_url()
    assert customer.customer_type == Customer.CustomerType.RETAIL
    card.refresh_from_db()
    assert card.status == CardStatus.CONVERTED
