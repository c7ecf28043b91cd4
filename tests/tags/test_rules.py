"""Automatic tags: rules are list filters, applied set-based, adding and removing."""

import datetime as dt
import io

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse

from customers.models import CustomerEvent
from loyalty_admin.roles import MARKETING
from tags import services
from tags.models import CustomerTag, Tag
from tests.customers.factories import (
    CustomerFactory,
    RewardRedemptionFactory,
    TagFactory,
)

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def automatic(rule, name="Rule tag"):
    return TagFactory(name=name, kind="automatic", rule=rule)


def tagged(tag):
    return set(CustomerTag.objects.filter(tag=tag).values_list("customer_id", flat=True))


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize(
    ("rule", "fits", "misses"),
    [
        ("followed_oa=true", {"followed_oa_at": NOW - dt.timedelta(days=300)}, {}),
        ("app_used_days=30", {"app_last_seen_at": NOW - dt.timedelta(days=10)},
         {"app_last_seen_at": NOW - dt.timedelta(days=45)}),
        ("purchased_days=30", {"last_order_at": NOW - dt.timedelta(days=2)},
         {"last_order_at": NOW - dt.timedelta(days=31)}),
        ("orders_min=5", {"order_count": 5}, {"order_count": 4}),
    ],
)  # fmt: skip
def test_each_built_in_rule(rule, fits, misses):
    assert rule in dict(services.BUILT_IN_RULES)
    yes, no = CustomerFactory(**fits), CustomerFactory(**misses)
    tag = automatic(rule)
    assert services.apply_rule(tag) == (1, 0)
    assert tagged(tag) == {yes.pk}
    assert no.pk not in tagged(tag)


@time_machine.travel(NOW, tick=False)
def test_redeemed_a_reward_rule():
    redeemer = CustomerFactory()
    RewardRedemptionFactory(customer=redeemer)
    CustomerFactory()
    tag = automatic("reward=any")
    services.apply_rule(tag)
    assert tagged(tag) == {redeemer.pk}


def test_rerun_adds_new_matches_and_removes_those_who_left():
    with time_machine.travel(NOW, tick=False):
        active = CustomerFactory(app_last_seen_at=NOW - dt.timedelta(days=20))
        tag = automatic("app_used_days=30")
        assert services.apply_rule(tag) == (1, 0)
        assert services.apply_rule(tag) == (0, 0)  # idempotent
    later = NOW + dt.timedelta(days=15)
    with time_machine.travel(later, tick=False):
        newcomer = CustomerFactory(app_last_seen_at=later - dt.timedelta(days=1))
        assert services.apply_rule(tag) == (1, 1)
    assert tagged(tag) == {newcomer.pk}
    link = CustomerTag.objects.get(tag=tag)
    assert link.source == "rule"
    assert CustomerEvent.objects.filter(
        customer=active, message="Removed Rule tag (rule no longer matches)"
    ).exists()
    tag.refresh_from_db()
    assert (tag.rule_added, tag.rule_removed) == (1, 1) and tag.rule_applied_at is not None


def test_invalid_rules_are_refused_with_the_reason():
    for rule, reason in (
        ("", "needs a rule"),
        ("points_min=lots", "not a valid customer filter"),
        ("q=", "selects every customer"),
        ("sort=-total_spent", "selects every customer"),
        ("status=active&status=inactive&status=blocked", "selects every customer"),
        ("points_min=0", "selects every customer"),
        ("spent_min=-5", "selects every customer"),
    ):
        with pytest.raises(Exception, match=reason):
            services.check_rule(rule)
    # Narrowing ones pass.
    for rule in ("status=active&status=inactive", "points_min=1", "spent_max=0"):
        assert services.check_rule(rule) == rule


def test_tag_form_takes_a_built_in_rule_and_checks_it(
    staff_client, django_capture_on_commit_callbacks
):
    client = staff_client(MARKETING)
    CustomerFactory(order_count=7)
    bad = client.post(
        reverse("tags:create"),
        {"name": "Loyal", "colour": "gold", "kind": "automatic", "rule": "orders_min=x"},
    )
    assert bad.status_code == 400 and "not a valid customer filter" in bad.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("tags:create"),
            {"name": "Loyal", "colour": "gold", "kind": "automatic", "preset": "orders_min=5"},
        )
    tag = Tag.objects.get(name="Loyal")
    assert tag.rule == "orders_min=5" and len(tagged(tag)) == 1  # applied in the background


def test_the_list_filter_becomes_a_rule(staff_client, django_capture_on_commit_callbacks):
    client = staff_client(MARKETING)
    hue = CustomerFactory(city="Huế", order_count=3)
    CustomerFactory(city="Vinh", order_count=3)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("tags:from_filter"),
            {"query": "city=Huế&orders_min=2", "name": "Huế regulars"},
            follow=True,
        )
    assert "The filter is now the rule of “Huế regulars”." in response.content.decode()
    tag = Tag.objects.get(name="Huế regulars")
    assert tag.kind == "automatic" and tagged(tag) == {hue.pk}
    # Editing the rule from the list: open it with rule_for, change the filter, save.
    page = client.get(reverse("customers:list") + f"?city=Huế&rule_for={tag.pk}").content.decode()
    assert "Save as its rule" in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("tags:from_filter"), {"query": "city=Vinh", "tag": tag.pk})
    tag.refresh_from_db()
    assert tag.rule == "city=Vinh" and hue.pk not in tagged(tag)


def test_command_reports_counts_and_fails_clearly():
    CustomerFactory(order_count=9)
    tag = automatic("orders_min=5", name="Frequent")
    out = io.StringIO()
    call_command("apply_automatic_tags", stdout=out)
    assert "Frequent: 1 added, 0 removed" in out.getvalue()
    Tag.objects.filter(pk=tag.pk).update(rule="orders_min=nope")
    with pytest.raises(CommandError, match="could not be applied"):
        call_command("apply_automatic_tags", stdout=io.StringIO(), stderr=io.StringIO())
    assert tagged(tag)  # a failed rule changed nothing
    with pytest.raises(CommandError, match="No automatic tag"):
        call_command("apply_automatic_tags", tag="missing")


def test_rewriting_an_existing_tags_rule_needs_the_change_permission(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.create_user("adder", password="pw-1234", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_tag", "view_customer", "view_tag"])
    )
    client.force_login(user)
    tag = automatic("orders_min=5", name="Frequent")
    response = client.post(reverse("tags:from_filter"), {"query": "city=Vinh", "tag": tag.pk})
    assert response.status_code == 403
    tag.refresh_from_db()
    assert tag.rule == "orders_min=5"
    created = client.post(reverse("tags:from_filter"), {"query": "city=Vinh", "name": "Vinh"})
    assert created.status_code == 302 and Tag.objects.filter(name="Vinh").exists()
