"""The audience list and page: sizes, metrics against hand-counted members, why in / out,
overlap, history, and their query counts."""

import json
import re
from datetime import datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from audiences import selectors, services
from audiences.models import Audience, AudienceMember
from customers.models import MarketingConsent
from customers.services import set_consents
from loyalty_admin.roles import CUSTOMER_CARE, MARKETING, SALES
from tests.customers.factories import CustomerFactory, CustomerTagFactory, RankFactory, TagFactory

pytestmark = pytest.mark.django_db


def aware(text):
    return timezone.make_aware(datetime.fromisoformat(text))


@pytest.fixture
def members():
    """Four Huế customers (one inactive) with ranks, spend, points, join dates, tags and
    consent, and one Vinh customer outside every audience below."""
    silver, gold = RankFactory(name="Silver", level=1), RankFactory(name="Gold", level=2)
    vip = TagFactory(name="VIP")
    people = [
        CustomerFactory(
            city="Huế",
            rank=gold,
            total_spent=Decimal("1000000"),
            points_balance=100,
            joined_at=aware("2026-11-10 10:00"),
            phone="+84912000001",
        ),
        CustomerFactory(
            city="Huế",
            rank=silver,
            total_spent=Decimal("500000"),
            points_balance=300,
            joined_at=aware("2026-11-20 10:00"),
            email=None,
            phone="+84912000002",
        ),
        CustomerFactory(
            city="Huế",
            rank=silver,
            total_spent=Decimal("0"),
            points_balance=0,
            joined_at=aware("2026-09-01 10:00"),
            status="inactive",
        ),
        CustomerFactory(
            city="Hue",
            rank=None,
            total_spent=Decimal("300000"),
            points_balance=200,
            joined_at=aware("2024-01-01 10:00"),
            app_last_seen_at=aware("2026-11-30 10:00"),
        ),
    ]
    CustomerFactory(city="Vinh")
    for person in people[:2]:
        CustomerTagFactory(customer=person, tag=vip)
    channel = MarketingConsent.Channel
    set_consents(
        customer=people[0], answers={channel.EMAIL: True, channel.SMS: True}, source="form"
    )
    # Agreed to email but has no email address: not reachable by email.
    set_consents(customer=people[1], answers={channel.EMAIL: True}, source="import")
    set_consents(
        customer=people[3], answers={channel.APP: True, channel.SMS: True}, source="counter"
    )
    # Withdrawn: agreed once, then said no.
    set_consents(customer=people[2], answers={channel.EMAIL: True}, source="form")
    set_consents(customer=people[2], answers={channel.EMAIL: False}, source="request")
    audience = Audience.objects.create(name="Huế", name_key="hue", rule="city=hue")
    return {"people": people, "audience": audience, "gold": gold, "silver": silver, "vip": vip}


def test_metrics_match_the_hand_count(members):
    with time_machine.travel("2026-12-03 12:00 +07:00", tick=False):
        figures = selectors.metrics(members["audience"])
    assert figures["size"] == 4 and figures["active"] == 3 and figures["active_share"] == 75
    assert figures["spend_total"] == Decimal("1800000")
    assert figures["spend_average"] == Decimal("450000")
    assert figures["points_average"] == 150
    reach = {row["channel"]: (row["count"], row["share"]) for row in figures["reachable"]}
    # Email: only the first (the second agreed but has no address; the third withdrew).
    # SMS: the first, and the fourth has no phone. App: the fourth, who used the app.
    assert reach == {"Email": (1, 25), "SMS": (1, 25), "App / Zalo": (1, 25)}
    ranks = dict(zip(figures["rank_chart"]["labels"], figures["rank_chart"]["values"], strict=True))
    assert ranks == {"Silver": 2, "Gold": 1, "No rank": 1}
    months = dict(
        zip(figures["month_chart"]["labels"], figures["month_chart"]["values"], strict=True)
    )
    assert len(months) == 12 and months["2026-11"] == 2 and months["2026-09"] == 1
    assert months["2026-01"] == 0 and "2024-01" not in months
    assert figures["cities"] == [("Huế", 3), ("Hue", 1)]
    assert [(tag.name, n) for tag, n in figures["tags"]] == [("VIP", 2)]


def test_metrics_take_two_scans_of_the_members(members):
    audience = members["audience"]
    audience.rule = f"rank={members['silver'].pk}"  # no city: its lookup of cities aside
    with CaptureQueriesContext(connection) as queries:
        figures = selectors.metrics(audience)
    assert figures["size"] == 2
    member_scans = [q for q in queries if "customers_customer" in q["sql"]]
    assert len(member_scans) == 2, [q["sql"][:80] for q in member_scans]


def test_why_in_and_out_per_criterion(members, staff_client):
    audience = members["audience"]
    audience.rule = f"city=hue&rank={members['gold'].pk}&points_min=50&tags_any={members['vip'].pk}"
    audience.save()
    first, second = members["people"][:2]
    inside = selectors.explain(audience, first)
    assert inside["inside"] is True and all(row["passes"] for row in inside["rows"])
    outside = selectors.explain(audience, second)
    assert outside["inside"] is False
    rows = {row["label"]: row for row in outside["rows"]}
    assert rows["Rank"]["passes"] is False and rows["Rank"]["own"] == "Silver"
    assert rows["Rank"]["wanted"] == "Gold"
    assert rows["City"]["passes"] is True and rows["City"]["own"] == "Huế"
    assert rows["Points balance"]["passes"] is True and rows["Points balance"]["own"] == "300"
    assert rows["Has any of the tags"]["own"] == "VIP"
    assert rows["Archived"]["passes"] is True
    client = staff_client(CUSTOMER_CARE)
    page = client.get(audience.get_absolute_url(), {"who": "0912 000 002"}).content.decode()
    assert "is not in this audience" in page
    assert re.search(r"<td>Rank</td><td>Gold</td><td>Silver</td>\s*<td>.*fail", page)
    page = client.get(audience.get_absolute_url(), {"who": "nobody@example.com"})
    assert "No customer has this member number" in page.content.decode()


def test_why_for_a_static_audience_and_an_archived_customer(members):
    static = Audience.objects.create(name="S", name_key="s", kind="static")
    first = members["people"][0]
    services.add_members(
        audience=static,
        queryset=first.__class__.objects.filter(pk=first.pk),
        actor=None,
        source="manual",
    )
    assert selectors.explain(static, first)["member"].source == "manual"
    assert selectors.explain(static, members["people"][1])["member"] is None
    first.archived_at = timezone.now()
    first.save()
    assert selectors.explain(static, first)["inside"] is False
    archived = selectors.explain(members["audience"], first)
    assert archived["inside"] is False
    assert [row["passes"] for row in archived["rows"]] == [True, False]  # city yes, archive no


def test_overlap_counts_and_links(members, staff_client):
    audience = members["audience"]
    vip = Audience.objects.create(name="VIP", name_key="vip", rule=f"tags_any={members['vip'].pk}")
    rows = selectors.overlap(audience, vip)
    assert [row["count"] for row in rows] == [2, 2, 0]
    client = staff_client(SALES)
    page = client.get(audience.get_absolute_url(), {"compare": vip.pk})
    body = page.content.decode()
    assert f"audience={audience.pk}&amp;not_audience={vip.pk}" in body
    listed = client.get(reverse("customers:list") + "?" + rows[0]["query"])
    assert members["people"][0].member_number in listed.content.decode()


def test_the_page_shows_rule_in_words_size_charts_reachability_and_history(members, staff_client):
    client = staff_client(MARKETING)
    audience = members["audience"]
    audience.rule = f"city=hue&rank={members['gold'].pk}&status=active"
    services.save_audience(audience=audience, actor=None)
    body = client.get(audience.get_absolute_url()).content.decode()
    assert "<strong>City</strong>: hue" in body and "<strong>Rank</strong>: Gold" in body
    assert "city=hue" not in body.split('data-testid="rule-words"')[1][:300]
    assert 'data-testid="audience-size">1</a>' in body
    chart = json.loads(re.search(r'id="audience-ranks"[^>]*>(.*?)</script>', body).group(1))
    assert chart["values"] == [0, 1]
    assert 'data-chart="line"' in body and "Reachable for campaigns" in body
    assert "Edited" in body


def test_a_stale_rule_says_so(members, staff_client):
    audience = members["audience"]
    audience.rule = "rank=999999"
    audience.save()
    body = staff_client(SALES).get(audience.get_absolute_url()).content.decode()
    assert "The rule is no longer a valid filter" in body


def test_the_list_shows_kind_size_owner_with_search_sort_and_empty_state(staff_client):
    client = staff_client(SALES)
    empty = client.get(reverse("audiences:list")).content.decode()
    assert "No audiences yet." in empty
    CustomerFactory.create_batch(2, city="Vinh")
    small = Audience.objects.create(name="Small", name_key="small", rule="city=Hue")
    big = Audience.objects.create(name="Big", name_key="big", rule="city=Vinh")
    services.refresh_sizes()
    Audience.objects.create(name="Old", name_key="old", rule="city=Vinh", archived=True)
    page = client.get(reverse("audiences:list"), {"sort": "-size"}).content.decode()
    assert page.index("Big") < page.index("Small") and "Old" not in page
    assert f'?audience={big.pk}">2</a>' in page and "counted" in page
    assert reverse("audiences:create") not in page  # Sales may not create
    assert "Small" not in client.get(reverse("audiences:list"), {"q": "bi"}).content.decode()
    archived = client.get(reverse("audiences:list"), {"archived": "true"}).content.decode()
    assert "Old" in archived and "Big" not in archived
    assert small.pk


def test_list_and_page_query_counts_are_pinned(members, staff_client, django_assert_num_queries):
    client = staff_client(MARKETING)
    client.get(reverse("audiences:list"))  # warm the session and permission caches
    for index in range(5):
        Audience.objects.create(name=f"A{index}", name_key=f"a{index}", rule="city=hue")
    # session, user, roles, audiences with owners.
    with django_assert_num_queries(4):
        client.get(reverse("audiences:list"))
    audience = members["audience"]
    static = Audience.objects.create(name="S", name_key="s", kind="static")
    AudienceMember.objects.create(
        audience=static, customer=members["people"][0], added_at=timezone.now()
    )
    # session, user, roles, audience, two metric scans, rank and tag names, history, jobs,
    # the other audiences; why and overlap add theirs only when asked.
    with django_assert_num_queries(11):
        client.get(static.get_absolute_url())
    # A dynamic one reads its rule twice (in words, and as the members' filter: each filter
    # set reads the rewards and custom fields it offers), and the city criterion its cities.
    with django_assert_num_queries(16):
        client.get(audience.get_absolute_url())
