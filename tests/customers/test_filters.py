"""Every criterion of the CustomerFilterSet (DESIGN.md §4)."""

import datetime
import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from customers.filters import CustomerFilterSet, add_criteria
from customers.models import Customer
from customers.selectors import customer_filterset, customers_matching
from tests.customers.factories import (
    CustomerFactory,
    CustomerTagFactory,
    CustomFieldFactory,
    RankFactory,
    RewardFactory,
    RewardRedemptionFactory,
    StoreFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db


def matching(query: str) -> set[int]:
    return set(customers_matching(query).values_list("pk", flat=True))


@pytest.fixture
def nguyen():
    return CustomerFactory(
        first_name="Văn Đức",
        last_name="Nguyễn",
        email="duc.nguyen@example.vn",
        phone="+84912345678",
        old_member_id="OLD-77",
        city="Hà Nội",
    )


@pytest.fixture
def smith():
    return CustomerFactory(
        first_name="Olivia",
        last_name="Smith",
        email="olivia@example.com",
        phone="+84987654321",
        city="Đà Nẵng",
    )


def test_quick_search_is_accent_insensitive(nguyen, smith):
    assert matching("q=Nguyen") == {nguyen.pk}
    assert matching("q=nguyễn đức") == {nguyen.pk}
    assert matching("q=duc") == {nguyen.pk}


def test_quick_search_ignores_phone_format(nguyen, smith):
    assert matching("q=0912 345 678") == {nguyen.pk}
    assert matching("q=%2B84-912-345") == {nguyen.pk}
    assert matching("q=(091) 2345") == {nguyen.pk}


def test_quick_search_finds_email_member_number_and_old_id(nguyen, smith):
    assert matching("q=olivia@exa") == {smith.pk}
    assert matching(f"q={smith.member_number.lower()}") == {smith.pk}
    assert matching("q=old-77") == {nguyen.pk}


def test_quick_search_treats_wildcards_literally(nguyen, smith):
    assert matching("q=%25") == set()
    assert matching("q=_") == set()


def test_name_filter_matches_only_names(nguyen, smith):
    assert matching("name=smith") == {smith.pk}
    # "example" is in both emails but in no name.
    assert matching("name=example") == set()
    assert matching("name=nguyen van") == {nguyen.pk}


def test_email_filter_matches_only_emails(nguyen, smith):
    assert matching("email=olivia@") == {smith.pk}
    assert matching("email=smith") == set()


def test_phone_filter_matches_any_format(nguyen, smith):
    assert matching("phone=0987 654") == {smith.pk}
    assert matching("phone=+84 98765") == {smith.pk}
    assert matching("phone=5555") == set()


def test_old_member_id_is_exact_and_case_insensitive(nguyen, smith):
    assert matching("old_member_id=old-77") == {nguyen.pk}
    assert matching("old_member_id=OLD-7") == set()


def test_city_is_case_insensitive(nguyen, smith):
    assert matching("city=hà nội") == {nguyen.pk}


def test_city_is_accent_insensitive_and_matches_a_prefix(nguyen, smith):
    hue = CustomerFactory(city="Huế")
    hue_upper = CustomerFactory(city="HUẾ")
    CustomerFactory(city="Hưng Yên")
    assert matching("city=hue") == {hue.pk, hue_upper.pk}
    assert matching("city=ha noi") == {nguyen.pk}
    assert matching("city=HA") == {nguyen.pk}
    assert matching("city=da nang") == {smith.pk}
    assert matching("city=Zürich") == set()


def test_joining_date_range():
    early = CustomerFactory(joined_at=timezone.make_aware(datetime.datetime(2025, 1, 10)))
    late = CustomerFactory(joined_at=timezone.make_aware(datetime.datetime(2026, 3, 1)))
    assert matching("joined_after=2026-01-01") == {late.pk}
    assert matching("joined_before=2025-12-31") == {early.pk}


def test_rank_store_status_type_and_referral():
    gold, silver = RankFactory(), RankFactory()
    store = StoreFactory()
    a = CustomerFactory(rank=gold, preferred_store=store, referral_source="friend")
    b = CustomerFactory(
        rank=silver, status=Customer.Status.BLOCKED, customer_type=Customer.CustomerType.WHOLESALE
    )
    assert matching(f"rank={gold.pk}") == {a.pk}
    assert matching(f"rank={gold.pk}&rank={silver.pk}") == {a.pk, b.pk}
    assert matching(f"store={store.pk}") == {a.pk}
    assert matching("status=blocked") == {b.pk}
    assert matching("customer_type=wholesale") == {b.pk}
    # The wholesale app contributes the application-status criterion (tests/wholesale).
    assert "wholesale_status" in customer_filterset().filters
    assert matching("referral_source=friend") == {a.pk}


def test_points_and_spend_ranges():
    low = CustomerFactory(points_balance=10, total_spent=100)
    high = CustomerFactory(points_balance=900, total_spent=5_000_000)
    assert matching("points_min=100") == {high.pk}
    assert matching("points_max=100") == {low.pk}
    assert matching("spent_min=1000&spent_max=10000000") == {high.pk}


def test_last_access_range():
    seen = CustomerFactory(last_access_at=timezone.make_aware(datetime.datetime(2026, 5, 5)))
    CustomerFactory(last_access_at=None)
    assert matching("last_access_after=2026-05-01") == {seen.pk}


def test_tags_any_all_none():
    vip, app = TagFactory(), TagFactory()
    both = CustomerFactory()
    only_vip = CustomerFactory()
    neither = CustomerFactory()
    CustomerTagFactory(customer=both, tag=vip)
    CustomerTagFactory(customer=both, tag=app)
    CustomerTagFactory(customer=only_vip, tag=vip)
    assert matching(f"tags_any={vip.pk}&tags_any={app.pk}") == {both.pk, only_vip.pk}
    assert matching(f"tags_all={vip.pk}&tags_all={app.pk}") == {both.pk}
    assert matching(f"tags_none={vip.pk}") == {neither.pk}


def test_reward_purchases():
    coffee, bag = RewardFactory(), RewardFactory()
    once = CustomerFactory()
    thrice = CustomerFactory()
    CustomerFactory()
    when = timezone.make_aware(datetime.datetime(2026, 6, 15, 12))
    RewardRedemptionFactory(customer=once, reward=bag, redeemed_at=when)
    for _ in range(3):
        RewardRedemptionFactory(customer=thrice, reward=coffee, redeemed_at=when)
    assert matching("reward=any") == {once.pk, thrice.pk}
    assert matching(f"reward={bag.pk}") == {once.pk}
    assert matching("reward=any&reward_min=2") == {thrice.pk}
    assert matching("reward_from=2026-06-16") == set()
    assert matching("reward_from=2026-06-01&reward_to=2026-06-30") == {once.pk, thrice.pk}


def test_custom_fields_become_filters():
    CustomFieldFactory(key="category", field_type="choice", choices=["Home", "Food"])
    CustomFieldFactory(key="size", field_type="number")
    CustomFieldFactory(key="vip_since", field_type="date")
    CustomFieldFactory(key="newsletter", field_type="boolean")
    CustomFieldFactory(key="company", field_type="text")
    a = CustomerFactory(
        custom_fields={
            "category": "Home",
            "size": 42,
            "vip_since": "2024-02-01",
            "newsletter": True,
            "company": "Công ty ABC",
        }
    )
    b = CustomerFactory(custom_fields={"category": "Food", "size": 37, "newsletter": False})
    assert matching("cf_category=Home") == {a.pk}
    assert matching("cf_size_min=40") == {a.pk}
    assert matching("cf_size_max=40") == {b.pk}
    assert matching("cf_vip_since_after=2024-01-01") == {a.pk}
    assert matching("cf_newsletter=true") == {a.pk}
    assert matching("cf_newsletter=false") == {b.pk}
    assert matching("cf_company=abc") == {a.pk}


def test_archived_customers_are_hidden_unless_asked_for():
    live = CustomerFactory()
    gone = CustomerFactory(archived_at=timezone.now())
    assert matching("") == {live.pk}
    assert matching("archived=true") == {gone.pk}


def test_invalid_filter_is_reported():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Points balance: Enter a number"):
        customers_matching("points_min=lots")


@pytest.mark.parametrize(
    ("query", "filtered"),
    [
        ("", False),
        ("q=&joined_after=&points_min=&city=", False),
        ("archived=true", False),
        ("points_min=5", True),
        ("joined_after=2025-01-01", True),
        ("q=an", True),
    ],
)
def test_is_filtered_ignores_empty_criteria(query, filtered):
    filterset = customer_filterset(query)
    assert filterset.is_valid()
    assert filterset.is_filtered is filtered


@time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC), tick=False)
def test_behaviour_criteria():
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    fan = CustomerFactory(followed_oa_at=now - dt.timedelta(days=400))
    app = CustomerFactory(app_last_seen_at=now - dt.timedelta(days=29))
    stale_app = CustomerFactory(app_last_seen_at=now - dt.timedelta(days=31))
    buyer = CustomerFactory(last_order_at=now - dt.timedelta(days=3), order_count=6)
    once = CustomerFactory(last_order_at=now - dt.timedelta(days=90), order_count=1)
    assert matching("followed_oa=true") == {fan.pk}
    assert fan.pk not in matching("followed_oa=false")
    assert matching("app_used_days=30") == {app.pk}
    assert stale_app.pk in matching("app_used_days=31")
    assert matching("purchased_days=30") == {buyer.pk}
    assert matching("orders_min=5") == {buyer.pk}
    assert matching("orders_min=1") == {buyer.pk, once.pk}


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("q=0912+345+678", True),
        ("q=duc.nguyen%40", True),
        ("q=M0000001", True),
        ("q=OLD-77+0912", True),
        ("old_member_id=old-77", True),
        ("phone=0912", True),
        ("email=duc.nguyen%40", True),
        ("email=duc", False),
        ("q=Thảo", False),
        ("q=tran+12", False),  # one term without a digit: a name may match many
        ("city=Huế", False),
        ("", False),
    ],
)
def test_a_search_by_identifier_names_customers(query, names):
    """The list does not count such a search beside its page (customers.selectors.start_count)."""
    assert customer_filterset(query).names_customers is names


def test_any_of_matches_a_list_sent_as_one_parameter(django_assert_num_queries):
    """core.lookups.AnyOf: the import's batch lookups (strings, keys and foreign keys)."""
    first, second, _other = CustomerFactory.create_batch(3)
    emails = [first.email, second.email, "nobody@example.com"]
    with django_assert_num_queries(1) as captured:
        found = set(Customer.objects.filter(email__any_of=emails).values_list("pk", flat=True))
    assert found == {first.pk, second.pk}
    assert captured.captured_queries[0]["sql"].count("nobody@example.com") == 1
    assert set(Customer.objects.filter(pk__any_of={second.pk})) == {second}
    tag_link = CustomerTagFactory(customer=first)
    assert list(tag_link.__class__.objects.filter(customer_id__any_of=[first.pk])) == [tag_link]
    assert not Customer.objects.filter(email__any_of=[]).exists()


def test_domain_apps_contribute_their_criteria_in_reading_order():
    names = list(CustomerFilterSet.base_filters)
    assert names.index("rank") == names.index("joined") + 1
    assert names.index("manual_rank") == names.index("rank") + 1
    assert names.index("tags_any") == names.index("orders_min") + 1
    assert {"tags_all", "tags_none", "rank_preview"} <= set(names)


def test_a_contributed_criterion_filters_every_filter_set_and_can_be_replaced():
    import django_filters

    marked = CustomerFactory(city="Vinh")
    CustomerFactory(city="Huế")
    before = dict(CustomerFilterSet.base_filters)
    try:
        add_criteria(
            {
                "vinh": django_filters.BooleanFilter(
                    method=lambda qs, name, v: qs.filter(city="Vinh")
                )
            },
            after="q",
        )
        assert list(CustomerFilterSet.base_filters).index("vinh") == 1
        assert list(customers_matching("vinh=true")) == [marked]
        add_criteria({"vinh": django_filters.CharFilter(field_name="city")})
        assert list(CustomerFilterSet.base_filters)[-1] == "vinh"
        assert list(customers_matching("vinh=Vinh")) == [marked]
    finally:
        CustomerFilterSet.base_filters = before


def test_manual_rank_criterion_finds_members_whose_rank_was_set_by_hand():
    manual = CustomerFactory(rank_overridden=True)
    automatic = CustomerFactory(rank_overridden=False)
    assert list(customers_matching("manual_rank=true")) == [manual]
    assert list(customers_matching("manual_rank=false")) == [automatic]
    assert set(customers_matching("manual_rank=")) == {manual, automatic}
