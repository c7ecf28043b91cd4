"""Dashboard figures: right numbers, and cached so a page view does not scan customers."""

import datetime as dt

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from console.dashboard import dashboard_figures
from loyalty_admin.roles import MARKETING
from tests.customers.factories import CustomerFactory, RankFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.UTC)  # a Thursday


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@time_machine.travel(NOW, tick=False)
def test_figures_count_members_new_this_week_per_rank_and_per_week():
    silver, gold = RankFactory(name="Silver"), RankFactory(name="Gold")
    monday = timezone.localtime(NOW).replace(hour=9) - dt.timedelta(days=3)
    CustomerFactory.create_batch(2, rank=silver, joined_at=monday)
    CustomerFactory(rank=gold, joined_at=NOW - dt.timedelta(weeks=3))
    CustomerFactory(rank=None, joined_at=NOW - dt.timedelta(weeks=40))  # outside 6 months
    CustomerFactory(rank=gold, joined_at=NOW, archived_at=NOW)  # archived: not a member

    figures = dashboard_figures()
    assert figures["total"] == 4
    assert figures["new_this_week"] == 2
    assert figures["rank_chart"]["labels"] == ["Silver", "Gold", "—"]
    assert figures["rank_chart"]["values"] == [2, 1, 1]
    weekly = figures["signup_chart"]["values"]
    assert len(weekly) == 27
    assert weekly[-1] == 2 and weekly[-4] == 1
    assert sum(weekly) == 3


def test_dashboard_page_uses_cached_figures(staff_client, django_assert_max_num_queries):
    client = staff_client(MARKETING)
    CustomerFactory.create_batch(3)
    first = client.get(reverse("dashboard")).content.decode()
    assert '<div class="display-6" data-testid="members-total">3</div>' in first
    CustomerFactory.create_batch(2)
    with django_assert_max_num_queries(10) as captured:
        page = client.get(reverse("dashboard")).content.decode()
    assert '<div class="display-6" data-testid="members-total">3</div>' in page
    assert "Figures as of" in page
    customer_table = "customers_customer"
    scans = [q["sql"] for q in captured.captured_queries if f'FROM "{customer_table}"' in q["sql"]]
    assert scans == []  # the cached figures served the page
