"""The dashboard's tourist-card charts: activations per local day and active cards per
nationality, cached, and shown to those who see cards."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from cards import services
from cards.selectors import card_figures
from loyalty_admin.roles import CUSTOMER_CARE
from tests.cards.test_activation import numbers, traveller

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 19, 3, 0, tzinfo=dt.UTC)  # 10:00 in Ho Chi Minh City


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def activate(number, passport, nationality, today):
    services.activate(
        number=number,
        traveller=traveller(
            passport_number=passport,
            nationality=nationality,
            arrival=today,
            departure=today + dt.timedelta(days=5),
        ),
        store=None,
        actor=None,
        today=today,
    )


def test_activations_per_day_and_active_cards_per_nationality():
    stock = numbers(
        services.generate_batch(
            name="Charts", prefix="9740", size=4, validity_days=5, store=None, actor=None
        )
    )
    today = dt.date(2026, 11, 19)
    with time_machine.travel(NOW - dt.timedelta(days=2), tick=False):
        activate(stock[0], "K1000001", "KR", today - dt.timedelta(days=2))
    with time_machine.travel(NOW, tick=False):
        activate(stock[1], "K1000002", "KR", today)
        activate(stock[2], "J1000003", "JP", today)
        services.void(card=services.card_in_stock(stock[3]), actor=None, reason="Damaged")
        figures = card_figures()
    per_day = figures["activations_chart"]["values"]
    assert len(per_day) == 30 and per_day[-1] == 2 and per_day[-3] == 1 and sum(per_day) == 3
    assert figures["activations_chart"]["labels"][-1] == "11-19"
    assert figures["nationality_chart"] == {"labels": ["South Korea", "Japan"], "values": [2, 1]}
    assert figures["active"] == 3


def test_the_dashboard_shows_the_charts_to_those_who_see_cards(staff_client):
    stock = numbers(
        services.generate_batch(
            name="Shown", prefix="9741", size=1, validity_days=5, store=None, actor=None
        )
    )
    care = staff_client(CUSTOMER_CARE)
    empty = care.get(reverse("dashboard")).content.decode()
    assert "No tourist card has been activated in the last 30 days." in empty
    cache.clear()
    activate(stock[0], "K1000009", "KR", timezone.localdate())
    page = care.get(reverse("dashboard")).content.decode()
    assert 'id="activations-chart"' in page and "South Korea" in page


def test_staff_without_cards_see_no_card_charts(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody", password="pw-1234"))
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="tourist-card-charts"' not in page
