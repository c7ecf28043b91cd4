"""Keyset pages: every sort walks all rows exactly once, forwards and backwards."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from console.tables import SORTS, ordering_for
from core.pagination import (
    InvalidCursor,
    cursor_at,
    decode_cursor,
    keyset_page,
    sort_keys,
)
from customers.models import Customer
from loyalty_admin.roles import ADMINISTRATOR
from tests.customers.factories import CustomerFactory, RankFactory, StoreFactory

pytestmark = pytest.mark.django_db
BASE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def customers():
    """Ties, nulls and a related sort key, so every branch of the cursor logic is needed."""
    ranks = [RankFactory(level=level) for level in (1, 2)]
    store = StoreFactory(name="Zeta")
    for index in range(23):
        CustomerFactory(
            joined_at=BASE + dt.timedelta(days=index % 4),  # ties on the date
            total_spent=Decimal(index % 3) * 100,
            email=None if index % 5 == 0 else f"p{index:02d}@example.com",
            phone=f"+84912000{index:03d}",
            last_access_at=None if index % 2 else BASE + dt.timedelta(hours=index),
            rank=None if index % 7 == 0 else ranks[index % 2],
            preferred_store=store if index % 3 == 0 else None,
            last_name=["Nguyễn", "Trần", "Lê"][index % 3],
            first_name=f"Name {index % 4}",
        )
    return Customer.objects.for_list()


def walk(queryset, ordering, per_page):
    """Follow next links from the first page to the end, then previous links back."""
    pages, page = [], keyset_page(queryset, ordering, per_page)
    pages.append([c.pk for c in page.rows])
    assert page.is_first and page.previous_cursor is None
    while page.next_cursor:
        page = keyset_page(queryset, ordering, per_page, after=page.next_cursor)
        pages.append([c.pk for c in page.rows])
    backwards = [[c.pk for c in page.rows]]
    while page.previous_cursor:
        page = keyset_page(queryset, ordering, per_page, before=page.previous_cursor)
        backwards.append([c.pk for c in page.rows])
    assert page.is_first
    return pages, backwards[::-1]


@pytest.mark.parametrize("sort", ["", *SORTS, *[f"-{name}" for name in SORTS]])
def test_every_sort_walks_every_row_once_both_ways(customers, sort):
    ordering, _ = ordering_for(sort)
    expected = list(
        customers.order_by(
            *[key.expression() for key in sort_keys(Customer, ordering)]
        ).values_list("pk", flat=True)
    )
    forwards, backwards = walk(customers, ordering, per_page=5)
    assert [pk for page in forwards for pk in page] == expected
    assert backwards == forwards
    assert all(len(page) == 5 for page in forwards[:-1])


def test_cursor_at_opens_the_page_after_that_row(customers):
    ordering, _ = ordering_for("-total_spent")
    page = keyset_page(customers, ordering, 4, after=cursor_at(customers, ordering, 8))
    everything = [c.pk for c in keyset_page(customers, ordering, 100).rows]
    assert [c.pk for c in page.rows] == everything[8:12]


def test_damaged_cursor_is_refused(customers):
    keys = sort_keys(Customer, ["-joined_at", "-id"])
    for cursor in ("%%%", "bm90IGpzb24", "WzFd", "WyJub3QgYSBkYXRlIiwgMV0"):
        with pytest.raises(InvalidCursor):
            decode_cursor(Customer, keys, cursor)


def test_list_pages_by_cursor_and_says_when_a_link_is_damaged(staff_client, settings):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(55)
    response = client.get(reverse("customers:list"))
    first = response.context["results"]
    assert first.page.next_cursor
    assert f'href="{first.next_url}" rel="next"' in response.content.decode()
    second = client.get(reverse("customers:list") + first.next_url).context["results"]
    assert len(second.page.rows) == 5
    assert not {c.pk for c in second.page.rows} & {c.pk for c in first.page.rows}
    damaged = client.get(reverse("customers:list") + "?after=garbage!")
    assert damaged.status_code == 200
    assert "The page link is damaged." in damaged.content.decode()
    assert len(damaged.context["results"].page.rows) == 50
