from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cards import services
from cards.models import CardStatus, TouristCard
from customers.models import Customer, Store
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


def test_the_list_finds_a_card_by_number_or_passport_and_masks_passports(staff_client, stock):
    staff_client(CUSTOMER_CARE).post(ACTIVATE, form(stock[0]))
    marketing = staff_client(MARKETING)
    by_number = marketing.get(reverse("cards:list"), {"q": stock[0]}).content.decode()
    assert "SATO Yuki" in by_number and "••••4321" in by_number and "B7654321" not in by_number
    by_passport = marketing.get(reverse("cards:list"), {"q": "b7654321"}).content.decode()
    assert stock[0] in by_passport and stock[1] not in by_passport


def test_the_card_page_shows_the_passport_to_care_and_its_history(staff_client, stock):
    care = staff_client(CUSTOMER_CARE)
    care.post(ACTIVATE, form(stock[0]))
    card = TouristCard.objects.get(number=stock[0])
    page = care.get(reverse("cards:detail", args=[card.pk]))
    body = page.content.decode()
    assert 'data-testid="passport">' in body and "B7654321" in body
    assert "Activated" in body


def test_the_card_list_costs_the_same_for_many_cards(staff_client, django_assert_num_queries):
    client = staff_client(SALES)
    services.generate_batch(
        name="Few", prefix="9710", size=3, validity_days=1, store=None, actor=None
    )
    client.get(reverse("cards:list"))
    with django_assert_num_queries(6) as captured:  # session, user, perms, batches, stores, page
        client.get(reverse("cards:list"))
    few = len(captured.captured_queries)
    services.generate_batch(
        name="Many", prefix="9711", size=60, validity_days=1, store=None, actor=None
    )
    with django_assert_num_queries(few):
        client.get(reverse("cards:list"))


def test_an_administrator_adds_a_batch_and_sees_its_counts(admin_client):
    url = reverse("cards:batches")
    response = admin_client.post(
        url, {"name": "Airport", "prefix": "9712", "size": "40", "validity_days": "30"}
    )
    assert response.status_code == 302
    assert TouristCard.objects.filter(batch__name="Airport").count() == 40
    page = admin_client.get(url).content.decode()
    assert "Airport" in page and "In stock 40" in page
    again = admin_client.post(
        url, {"name": "airport", "prefix": "97A2", "size": "40", "validity_days": "30"}
    ).content.decode()
    assert "A batch with this name exists." in again and "1 to 8 digits, nothing else" in again
    assert 'value="97A2"' in again


def test_the_list_filters_by_batch_store_and_dates(staff_client, stock):
    store = Store.objects.create(name="Airport desk", code="air")
    care = staff_client(CUSTOMER_CARE)
    care.post(ACTIVATE, form(stock[0], store=str(store.pk)))
    other = services.generate_batch(
        name="Other", prefix="9713", size=2, validity_days=30, store=None, actor=None
    )
    today = timezone.localdate()

    def listed(**query):
        return care.get(reverse("cards:list"), query).content.decode()

    assert stock[0] in listed(store=store.pk) and stock[1] not in listed(store=store.pk)
    by_batch = listed(batch=other.pk)
    assert stock[0] not in by_batch and numbers(other)[0] in by_batch
    assert stock[0] in listed(activated_from=today.isoformat(), activated_to=today.isoformat())
    tomorrow = (today + timedelta(days=1)).isoformat()
    assert stock[0] not in listed(activated_from=tomorrow)
    card = TouristCard.objects.get(number=stock[0])
    assert stock[0] in listed(valid_until_from=card.valid_until.isoformat())
    assert "No card matches these filters." in listed(
        valid_until_from=(card.valid_until + timedelta(days=1)).isoformat()
    )


def test_the_customer_page_shows_the_customers_cards(staff_client, stock):
    care = staff_client(CUSTOMER_CARE)
    care.post(ACTIVATE, form(stock[0]))
    card = TouristCard.objects.get(number=stock[0])
    page = care.get(card.customer.get_absolute_url()).content.decode()
    shown = page.split('data-testid="tourist-cards"')[1].split("</dd>")[0]
    assert card.get_absolute_url() in shown and "Active" in shown


def test_the_counter_takes_dates_as_typed_from_a_passport(staff_client, stock):
    today = timezone.localdate()
    arrival, departure = today - timedelta(days=1), today + timedelta(days=6)
    client = staff_client(CUSTOMER_CARE)
    page = client.get(ACTIVATE).content.decode()
    assert 'placeholder="DD/MM/YYYY"' in page
    refused = client.post(
        ACTIVATE, form(stock[0], arrival=arrival.strftime("%d/%m/%Y"), departure="31/02/2027")
    ).content.decode()
    assert "Enter a valid date." in refused
    assert f'value="{arrival.strftime("%d/%m/%Y")}"' in refused
    client.post(
        ACTIVATE,
        form(
            stock[0],
            arrival=arrival.strftime("%d.%m.%Y"),
            departure=departure.strftime("%d/%m/%Y"),
        ),
    )
    card = TouristCard.objects.get(number=stock[0])
    assert (card.arrival, card.departure) == (arrival, departure)
