import threading
from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from cards import services
from cards.models import CardEvent, CardStatus, TouristCard
from customers.models import Customer, CustomerEvent
from loyalty_admin.roles import CUSTOMER_CARE
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = date(2027, 3, 10)


@pytest.fixture
def batch():
    return services.generate_batch(
        name="Spring", prefix="9704", size=5, validity_days=30, store=None, actor=None
    )


@pytest.fixture
def clerk():
    return make_staff(CUSTOMER_CARE)


def numbers(batch):
    return list(batch.cards.order_by("number").values_list("number", flat=True))


def traveller(**overrides):
    data = {
        "passport_number": "c 1234567",
        "nationality": "KR",
        "full_name": "KIM Min-jun",
        "date_of_birth": None,
        "arrival": TODAY - timedelta(days=2),
        "departure": TODAY + timedelta(days=5),
        "phone": "",
        "email": "",
    }
    return data | overrides


def activate(number, clerk, **overrides):
    return services.activate(
        number=number, traveller=traveller(**overrides), store=None, actor=clerk, today=TODAY
    )


def test_activating_creates_a_tourist_with_the_card_valid_after_departure(batch, clerk):
    card = activate(numbers(batch)[0], clerk)
    assert card.status == CardStatus.ACTIVE
    assert card.passport_number == "C1234567"
    assert card.valid_until == TODAY + timedelta(days=5 + 30)
    assert card.customer.customer_type == Customer.CustomerType.TOURIST
    assert (card.customer.last_name, card.customer.first_name) == ("KIM", "Min-jun")
    assert card.customer.country == "KR"
    assert CardEvent.objects.get(card=card).kind == "activated"
    assert CustomerEvent.objects.filter(customer=card.customer, kind="tourist_card").exists()


def test_a_typed_number_with_spaces_is_accepted(batch, clerk):
    number = numbers(batch)[1]
    card = activate(f"{number[:4]} {number[4:8]} {number[8:12]} {number[12:]}", clerk)
    assert card.number == number


def test_the_card_attaches_to_the_chosen_existing_customer(batch, clerk):
    existing = CustomerFactory(phone="+821012345678")
    matches = services.travellers_matching(
        passport="C1234567", nationality="KR", phone="+821012345678"
    )
    assert matches == [existing]
    card = services.activate(
        number=numbers(batch)[0],
        traveller=traveller(),
        store=None,
        actor=clerk,
        customer=existing,
        today=TODAY,
    )
    assert card.customer == existing
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda n: n[:-1] + str((int(n[-1]) + 1) % 10), "check digit is wrong"),
        (lambda n: "4111111111111111", "No card has the number"),
    ],
)
def test_a_wrong_or_unknown_number_is_refused(batch, clerk, mangle, message):
    with pytest.raises(services.CardRefused, match=message):
        activate(mangle(numbers(batch)[0]), clerk)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("active", "already active"),
        ("expired", "has expired"),
        ("void", "was voided"),
        ("replaced", "was replaced"),
        ("converted", "converted into a membership"),
    ],
)
def test_a_card_not_in_stock_is_refused_with_its_state(batch, clerk, status, message):
    number = numbers(batch)[0]
    TouristCard.objects.filter(number=number).update(status=status)
    with pytest.raises(services.CardRefused, match=message):
        activate(number, clerk)
    assert not Customer.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"departure": TODAY - timedelta(days=5)}, "before the arrival"),
        (
            {"arrival": TODAY - timedelta(days=9), "departure": TODAY - timedelta(days=1)},
            "departure date has passed",
        ),
        ({"arrival": TODAY - timedelta(days=200)}, "more than 90 days ago"),
        ({"passport_number": "C12-34567"}, "letters and digits"),
        ({"passport_number": "C12"}, "letters and digits"),
    ],
)
def test_a_bad_stay_or_passport_is_refused_and_nothing_is_written(batch, clerk, overrides, message):
    with pytest.raises(ValidationError, match=message):
        activate(numbers(batch)[0], clerk, **overrides)
    assert not Customer.objects.exists()
    assert TouristCard.objects.filter(status="active").count() == 0


def test_a_passport_with_an_active_card_cannot_take_a_second(batch, clerk):
    first, second = numbers(batch)[:2]
    activate(first, clerk)
    with pytest.raises(ValidationError, match="already holds an active card"):
        activate(second, clerk)
    assert TouristCard.objects.get(number=second).status == CardStatus.IN_STOCK
    assert Customer.objects.count() == 1


def test_activation_runs_a_pinned_number_of_queries(batch, clerk, django_assert_max_num_queries):
    number = numbers(batch)[0]
    # Lock the card, check the passport, create the customer (its checks and timeline), save
    # the card in a savepoint, its event and the timeline entry.
    with django_assert_max_num_queries(22):
        activate(number, clerk)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers itself")
@pytest.mark.django_db(transaction=True)
def test_two_desks_activating_one_card_at_once_activate_it_once():
    batch = services.generate_batch(
        name="Race", prefix="9705", size=1, validity_days=30, store=None, actor=None
    )
    number = numbers(batch)[0]
    clerks = [make_staff(CUSTOMER_CARE), make_staff(CUSTOMER_CARE, username="care2")]
    start, outcomes = threading.Barrier(2), []

    def desk(clerk, passport):
        start.wait(10)
        try:
            activate(number, clerk, passport_number=passport)
            outcomes.append("activated")
        except ValidationError as error:
            outcomes.append(error.messages[0])
        finally:
            connections.close_all()

    desks = [
        threading.Thread(target=desk, args=(clerk, passport))
        for clerk, passport in zip(clerks, ["M1234567", "M7654321"], strict=True)
    ]
    for thread in desks:
        thread.start()
    for thread in desks:
        thread.join(20)
    assert outcomes.count("activated") == 1
    assert next(o for o in outcomes if o != "activated").startswith(
        f"Card {number} is already active"
    )
    assert TouristCard.objects.filter(status="active").count() == 1
    assert Customer.objects.count() == 1
