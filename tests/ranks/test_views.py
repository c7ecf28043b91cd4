"""Rank settings through the web: overview, ladder edits with their impact, policy, deletion,
recalculation jobs, manual ranks and the customer page."""

import datetime as dt
import io
import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, SALES
from ranks import services
from ranks.models import Rank, RankChange, RankPolicy, RankRecalculation, RankSimulation
from tests.customers.factories import CustomerFactory, OrderFactory, PointsTransactionFactory
from tests.loyalty_admin.test_query_counts import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def ladder():
    policy = RankPolicy.current()
    policy.basis, policy.window, policy.downgrade = "spend", "lifetime", "at_evaluation"
    policy.save()
    return [
        Rank.objects.create(name="Member", code="member", level=1, threshold=0, is_default=True),
        Rank.objects.create(name="Silver", code="silver", level=2, threshold=1000, colour="silver"),
        Rank.objects.create(name="Gold", code="gold", level=3, threshold=5000, colour="gold"),
    ]


def spender(rank, amount):
    customer = CustomerFactory(rank=rank)
    OrderFactory(customer=customer, total=amount, placed_at=timezone.now() - dt.timedelta(days=1))
    return customer


def rank_form(rank, **changes):
    data = {
        "name": rank.name,
        "code": rank.code,
        "level": rank.level,
        "threshold": rank.threshold,
        "points_multiplier": rank.points_multiplier,
        "colour": rank.colour,
        "benefits": rank.benefits,
        "is_default": "on" if rank.is_default else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def test_overview_lists_ranks_with_members_share_and_policy(staff_client, ladder):
    client = staff_client(SALES)
    member, silver, _gold = ladder
    CustomerFactory.create_batch(3, rank=member)
    CustomerFactory(rank=silver)
    page = client.get(reverse("ranks:overview")).content.decode()
    assert page.index("Member") < page.index("Silver") < page.index("Gold")
    assert "75.0%" in page and "25.0%" in page
    assert "Ranks are earned by spend over the membership&#x27;s lifetime" in page
    assert 'id="rank-share"' in page  # the chart's data
    assert "No recalculation has run yet." in page
    assert reverse("ranks:create") not in page  # Sales may look, not change


def test_adding_a_rank_checks_the_ladder_and_keeps_what_was_typed(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    bad = rank_form(
        Rank(name="Platinum", code="platinum", level=4, threshold=3000, colour="platinum")
    )
    response = client.post(reverse("ranks:create"), bad)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Thresholds must rise with the level" in body and 'value="Platinum"' in body
    assert (
        "Two ranks have the same level."
        in client.post(
            reverse("ranks:create"), {**bad, "threshold": 9000, "level": 3}
        ).content.decode()
    )
    assert (
        "already exists"
        in client.post(
            reverse("ranks:create"), {**bad, "threshold": 9000, "code": "gold"}
        ).content.decode()
    )
    response = client.post(reverse("ranks:create"), {**bad, "threshold": 9000}, follow=True)
    assert "Rank “Platinum” added." in response.content.decode()
    assert Rank.objects.count() == 4


def test_the_default_rank_cannot_be_left_out(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    member = ladder[0]
    response = client.post(
        reverse("ranks:update", args=[member.pk]),
        {**rank_form(member, is_default=""), "action": "save"},
    )
    assert (
        "Exactly one rank must be the default for new members (now 0)." in response.content.decode()
    )
    # Making another rank the default moves the flag: still exactly one.
    gold = ladder[2]
    client.post(
        reverse("ranks:update", args=[gold.pk]),
        {**rank_form(gold, is_default="on"), "action": "save"},
    )
    assert list(Rank.objects.filter(is_default=True)) == [gold]


def test_threshold_change_is_previewed_then_applied_exactly(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    member, silver, gold = ladder
    stays = spender(silver, 2000)
    drops = spender(silver, 1200)
    rises = spender(member, 1600)
    url = reverse("ranks:update", args=[silver.pk])

    # Saving a threshold without a preview shows the impact first and changes nothing.
    response = client.post(url, {**rank_form(silver, threshold=1500), "action": "save"})
    assert "Check the impact of this change, then save it." in response.content.decode()
    assert Rank.objects.get(pk=silver.pk).threshold == 1000

    preview = client.post(
        url, {**rank_form(silver, threshold=1500), "action": "preview"}, HTTP_HX_REQUEST="true"
    )
    body = preview.content.decode()
    assert body.lstrip().startswith('<div id="impact"')  # the htmx partial only
    simulation = RankSimulation.objects.latest("created_at")
    assert simulation.counts["up"] == 1 and simulation.counts["down"] == 1
    assert "1 members would move up and 1 down." in body
    assert {m.customer_id for m in simulation.members.filter(direction="down")} == {drops.pk}

    # The preview's "who" link lists exactly those customers.
    listed = client.get(reverse("customers:list"), {"rank_preview": f"{simulation.pk}-down"})
    assert [c.pk for c in listed.context["results"].page.rows] == [drops.pk]

    response = client.post(
        url,
        {**rank_form(silver, threshold=1500), "action": "save", "simulation": simulation.pk},
        follow=True,
    )
    assert "1 members moved up and 1 down, as previewed." in response.content.decode()
    assert Rank.objects.get(pk=silver.pk).threshold == 1500
    ranks = dict(Customer.objects.values_list("pk", "rank__code"))
    assert ranks == {stays.pk: "silver", drops.pk: "member", rises.pk: "silver"}
    assert RankChange.objects.filter(reason="downgrade", customer=drops).exists()
    assert Rank.objects.get(pk=gold.pk).threshold == gold.threshold  # other ranks untouched


def test_policy_change_is_previewed_then_applied(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    member, silver, _gold = ladder
    old_spender = CustomerFactory(rank=silver)
    OrderFactory(
        customer=old_spender, total=2000, placed_at=timezone.now() - dt.timedelta(days=500)
    )
    form = {
        "basis": "spend",
        "window": "rolling_12",
        "downgrade": "at_evaluation",
        "grace_days": 90,
    }
    client.post(reverse("ranks:policy"), {**form, "action": "preview"})
    simulation = RankSimulation.objects.latest("created_at")
    assert simulation.counts["down"] == 1
    response = client.post(
        reverse("ranks:policy"),
        {**form, "action": "save", "simulation": simulation.pk},
        follow=True,
    )
    assert "0 members moved up and 1 down, as previewed." in response.content.decode()
    assert RankPolicy.current().window == "rolling_12"
    old_spender.refresh_from_db()
    assert old_spender.rank == member


def test_policy_needs_grace_days_for_a_grace_period(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    response = client.post(
        reverse("ranks:policy"),
        {
            "basis": "points",
            "window": "lifetime",
            "downgrade": "grace",
            "grace_days": 0,
            "action": "preview",
        },
    )
    assert response.status_code == 400
    assert "Give the grace period in days" in response.content.decode()
    assert RankPolicy.current().basis == "spend"


def test_delete_moves_members_with_history(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    member, silver, gold = ladder
    customers = CustomerFactory.create_batch(2, rank=silver)
    page = client.get(reverse("ranks:delete", args=[silver.pk])).content.decode()
    assert "2 members have this rank." in page
    assert f'<option value="{member.pk}" selected>Member</option>' in page  # the next lower
    response = client.post(
        reverse("ranks:delete", args=[silver.pk]), {"move_to": gold.pk}, follow=True
    )
    assert "Rank “Silver” deleted; 2 members moved to Gold." in response.content.decode()
    assert not Rank.objects.filter(pk=silver.pk).exists()
    for customer in customers:
        customer.refresh_from_db()
        assert customer.rank == gold
        change = customer.rank_changes.get()
        assert (change.from_name, change.to_name, change.reason) == (
            "Silver",
            "Gold",
            "rank_deleted",
        )


def test_the_default_and_the_last_rank_cannot_be_deleted(staff_client, ladder, admin_user):
    client = staff_client(ADMINISTRATOR)
    member, silver, gold = ladder
    response = client.post(reverse("ranks:delete", args=[member.pk]), {"move_to": silver.pk})
    assert "make another rank the default first" in response.content.decode().lower()
    services.delete_rank(rank=gold, move_to=silver, actor=admin_user)
    services.delete_rank(rank=silver, move_to=member, actor=admin_user)
    with pytest.raises(Exception, match="The last rank cannot be deleted"):
        services.delete_rank(rank=member, move_to=None, actor=admin_user)


def test_recalculation_job_runs_reports_and_refuses_a_second_one(
    staff_client, ladder, django_capture_on_commit_callbacks
):
    client = staff_client(ADMINISTRATOR)
    member, _silver, _gold = ladder
    customer = spender(member, 1200)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(reverse("ranks:recalculate"))
        again = client.post(reverse("ranks:recalculate"), follow=True)
    assert "already queued or running" in again.content.decode()
    job = RankRecalculation.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert "In progress" in client.get(job.get_absolute_url()).content.decode()
    callbacks[0]()  # the worker runs it
    job.refresh_from_db()
    assert job.status == "done" and job.upgraded == 1
    customer.refresh_from_db()
    assert customer.rank.code == "silver"
    page = client.get(job.get_absolute_url(), HTTP_HX_REQUEST="true").content.decode()
    assert "1 moved up" in page and "hx-trigger" not in page  # polling stops when done


def test_failed_recalculation_job_keeps_its_reason_and_can_be_retried(
    staff_client, ladder, monkeypatch, django_capture_on_commit_callbacks
):
    client = staff_client(ADMINISTRATOR)
    job = RankRecalculation.objects.create()

    def broken(**kwargs):
        raise RuntimeError("could not serialize access")

    monkeypatch.setattr(services, "recalculate_all", broken)
    services.run_recalculation(job.pk)
    job.refresh_from_db()
    assert job.status == "failed" and "could not serialize access" in job.error
    page = client.get(job.get_absolute_url()).content.decode()
    assert "failed and changed nothing" in page
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ranks:recalculation_retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers itself")
@pytest.mark.django_db(transaction=True)
def test_concurrent_recalculations_cannot_interleave(ladder):
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        with transaction.atomic():
            RankPolicy.objects.select_for_update().get(pk=1)
            locked.set()
            release.wait(10)
        connections.close_all()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    locked.wait(10)
    try:
        with pytest.raises(services.RecalculationBusy):
            services.recalculate_all()
    finally:
        release.set()
        holder.join()


def test_manual_rank_from_the_customer_page(staff_client, ladder):
    client = staff_client(CUSTOMER_CARE)
    member, _silver, gold = ladder
    customer = CustomerFactory(rank=member)
    url = reverse("ranks:override", args=[customer.pk])
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url, {"rank": gold.pk, "reason": "VIP event", "expires_at": past}, follow=True
    )
    assert "must be in the future" in response.content.decode()
    future = (timezone.localtime() + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        url, {"rank": gold.pk, "reason": "VIP event", "expires_at": future}, follow=True
    )
    page = response.content.decode()
    assert "Rank set to Gold by hand." in page and "set manually" in page
    assert "Manual rank ends" in page and "VIP event" in page  # the panel and the timeline
    listed = client.get(reverse("customers:list")).content.decode()
    assert 'title="Set manually"' in listed  # marked on the list too
    response = client.post(reverse("ranks:override_end", args=[customer.pk]), follow=True)
    customer.refresh_from_db()
    assert not customer.rank_overridden and customer.rank == member


def test_why_this_rank_panel_shows_what_moves_the_rank(staff_client, ladder):
    client = staff_client(SALES)
    _member, silver, _gold = ladder
    customer = spender(silver, 1200)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "Why this rank" in page
    amount = re.search(r'data-testid="qualifying-amount">\s*([\d,]+)', page)
    assert amount and amount.group(1) == "1,200"
    assert "Gold at 5,000: 3,800 more to move up" in page
    assert "Set the rank by hand" not in page  # Sales may not


def test_recalculate_ranks_command(ladder):
    customer = spender(ladder[0], 6000)
    out = io.StringIO()
    call_command("recalculate_ranks", stdout=out)
    assert "1 moved up, 0 moved down" in out.getvalue()
    customer.refresh_from_db()
    assert customer.rank.code == "gold"


def test_an_order_re_evaluates_its_customer(ladder, django_capture_on_commit_callbacks):
    customer = CustomerFactory(rank=ladder[0])
    with django_capture_on_commit_callbacks(execute=True):
        OrderFactory(customer=customer, total=1500, placed_at=timezone.now())
    customer.refresh_from_db()
    assert customer.rank.code == "silver"
    assert customer.rank_changes.get().reason == "qualification"


def test_rank_pages_query_counts_are_pinned(staff_client, ladder, django_assert_num_queries):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3, rank=ladder[1])
    client.get(reverse("ranks:overview"))  # fills the cached member counts
    # The signed-in page's, then ranks, the member counts from the shared (database) cache,
    # policy, latest job.
    with django_assert_num_queries(BASE + 4):
        client.get(reverse("ranks:overview"))
    CustomerFactory.create_batch(5, rank=ladder[2])
    with django_assert_num_queries(BASE + 4):
        client.get(reverse("ranks:overview"))
    # The signed-in page's and the rank.
    with django_assert_num_queries(BASE + 1):
        client.get(reverse("ranks:update", args=[ladder[1].pk]))


def test_a_points_movement_re_evaluates_its_customer(ladder, django_capture_on_commit_callbacks):
    policy = RankPolicy.current()
    policy.basis = "points"
    policy.save()
    customer = CustomerFactory(rank=ladder[0])
    with django_capture_on_commit_callbacks(execute=True):
        PointsTransactionFactory(customer=customer, delta=6000, balance_after=6000)
    customer.refresh_from_db()
    assert customer.rank.code == "gold"


def test_simulated_members_move_the_way_the_counts_say(ladder, admin_user):
    """An ending manual rank can move a member up: the "who" list must agree with the count."""
    customer = spender(ladder[0], 6000)
    Customer.objects.filter(pk=customer.pk).update(
        rank_overridden=True, rank_override_expires_at=timezone.now() - dt.timedelta(days=1)
    )
    simulation = services.simulate(proposal={}, actor=admin_user)
    assert simulation.counts["up"] == 1 and simulation.counts["down"] == 0
    assert list(simulation.members.values_list("customer_id", "direction")) == [(customer.pk, "up")]


def test_a_preview_counts_members_who_would_start_a_grace_period(staff_client, ladder):
    client = staff_client(ADMINISTRATOR)
    _member, silver, _gold = ladder
    old_spender = CustomerFactory(rank=silver)
    OrderFactory(
        customer=old_spender, total=2000, placed_at=timezone.now() - dt.timedelta(days=500)
    )
    form = {"basis": "spend", "window": "rolling_12", "downgrade": "grace", "grace_days": 90}
    response = client.post(reverse("ranks:policy"), {**form, "action": "preview"})
    simulation = RankSimulation.objects.latest("created_at")
    assert (simulation.counts["down"], simulation.counts["grace_started"]) == (0, 1)
    assert "1 member would start a grace period" in response.content.decode()


def test_deleting_the_default_rank_says_so_before_the_form(staff_client, ladder):
    member = ladder[0]
    page = staff_client(ADMINISTRATOR).get(reverse("ranks:delete", args=[member.pk]))
    text = page.content.decode()
    assert "This is the default rank: every new member gets it." in text
    assert "Delete and move members" not in text
