from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cards import services
from cards.models import CardStatus, TouristCard
from customers.models import Customer
from loyalty_admin.roles import CUSTOMER_CARE, MARKETING, SALES
from tests.cards.test_activation import numbers
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ACTIVATE = reverse("cards:activate")


@pytest.fixture
def stock():
    return numbers(
        services.generate_batch(
            name="Desk", prefix="9708", size=3, validity_days=30, store=None, actor=None
        )
    )


def form(number, **overrides):
    today = timezone.localdate()
    data = {
        "number": number,
        "passport_number": "B7654321",
        "nationality": "JP",
        "full_name": "SATO Yuki",
        "arrival": (today - timedelta(days=1)).isoformat(),
        "departure": (today + timedelta(days=6)).isoformat(),
        "phone": "",
        "email": "",
    }
    return data | overrides


def test_the_clerk_activates_and_lands_on_the_next_card_button(staff_client, stock):
    client = staff_client(CUSTOMER_CARE)
    page = client.get(ACTIVATE).content.decode()
    assert 'name="number"' in page and "autofocus" in page
    response = client.post(ACTIVATE, form(stock[0]), follow=True)
    card = TouristCard.objects.get(number=stock[0])
    assert card.status == CardStatus.ACTIVE
    assert response.redirect_chain[-1][0] == reverse("cards:activated", args=[card.pk])
    body = response.content.decode()
    assert "Activate the next card" in body and "••••4321" in body
    assert card.customer.customer_type == Customer.CustomerType.TOURIST


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"passport_number": "B76-54321"}, "letters and digits"),
        ({"nationality": "XX"}, "Select a valid choice"),
        ({"departure": "2020-01-01"}, "before the arrival"),
    ],
)
def test_a_refused_form_says_why_and_keeps_what_was_typed(
    staff_client, stock, overrides, field_error
):
    response = staff_client(CUSTOMER_CARE).post(ACTIVATE, form(stock[0], **overrides))
    body = response.content.decode()
    assert response.status_code == 200
    assert field_error in body
    assert 'value="SATO Yuki"' in body
    assert TouristCard.objects.get(number=stock[0]).status == CardStatus.IN_STOCK


def test_a_wrong_check_digit_is_said_on_the_number(staff_client, stock):
    wrong = stock[0][:-1] + str((int(stock[0][-1]) + 1) % 10)
    body = staff_client(CUSTOMER_CARE).post(ACTIVATE, form(wrong)).content.decode()
    assert "check digit is wrong" in body
    assert f'value="{wrong}"' in body


def test_a_known_traveller_is_offered_before_a_new_customer_is_made(staff_client, stock):
    existing = CustomerFactory(email="yuki@example.jp")
    client = staff_client(CUSTOMER_CARE)
    asked = client.post(ACTIVATE, form(stock[0], email="yuki@example.jp")).content.decode()
    assert f'value="{existing.pk}"' in asked and "A new customer" in asked
    assert TouristCard.objects.get(number=stock[0]).status == CardStatus.IN_STOCK
    client.post(ACTIVATE, form(stock[0], email="yuki@example.jp", attach=str(existing.pk)))
    assert TouristCard.objects.get(number=stock[0]).customer == existing
    assert Customer.objects.count() == 1


@pytest.mark.parametrize("role", [SALES, MARKETING])
def test_only_care_and_administrators_activate(staff_client, stock, role):
    client = staff_client(role)
    assert client.get(ACTIVATE).status_code == 403
    assert client.post(ACTIVATE, form(stock[0])).status_code == 403
    assert TouristCard.objects.get(number=stock[0]).status == CardStatus.IN_STOCK
