"""Query counts of the remaining pages, pinned: a change that adds a query per row, or an
unexpected one, fails here. (List, detail and rank pages are pinned beside their tests.)"""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.urls import reverse

from console.models import ScheduledExport, ScheduledExportRun
from customers.models import ExportJob
from loyalty_admin.roles import ADMINISTRATOR
from ranks.models import RankRecalculation
from tests.customers.factories import CustomerFactory, RankFactory

pytestmark = pytest.mark.django_db

# Every signed-in page: session, user, and the user's permissions with their role names in one
# query (loyalty_admin.roles.RoleBackend). (The session is saved at most once a minute:
# loyalty_admin.middleware.)
BASE = 3


@pytest.fixture
def client(staff_client):
    cache.clear()
    return staff_client(ADMINISTRATOR)


def pinned(client, url, extra, django_assert_num_queries, grow=None):
    client.get(url)  # warm caches that are meant to be warm (dashboard figures)
    with django_assert_num_queries(BASE + extra):
        assert client.get(url).status_code == 200
    if grow:
        grow()
        with django_assert_num_queries(BASE + extra):
            client.get(url)


def test_dashboard(client, django_assert_num_queries):
    # the member figures and the per-rank counts from the shared cache (a read of the
    # database cache each), the ranks for the chart, recent activity (customer and actor
    # joined), pending wholesale applications and the conditions' answer time, and the
    # tourist-card charts from the shared cache
    CustomerFactory.create_batch(3)
    pinned(client, reverse("dashboard"), 7, django_assert_num_queries,
           grow=lambda: CustomerFactory.create_batch(5))  # fmt: skip


def test_export_list(client, django_assert_num_queries):
    # the jobs page, its count for the paginator
    ExportJob.objects.create(columns=["email"])
    more = lambda: ExportJob.objects.bulk_create(  # noqa: E731
        [ExportJob(columns=["email"]) for _ in range(5)]
    )
    pinned(client, reverse("customers:exports"), 2, django_assert_num_queries, grow=more)


def test_export_detail(client, django_assert_num_queries):
    job = ExportJob.objects.create(columns=["email"])
    url = reverse("customers:export_detail", args=[job.pk])
    pinned(client, url, 1, django_assert_num_queries)


def test_customer_edit_form(client, django_assert_num_queries):
    # the customer (with rank, store, referrer), custom fields, ranks and stores for the selects,
    # the marketing consent it has
    customer = CustomerFactory(rank=RankFactory())
    pinned(client, reverse("customers:update", args=[customer.pk]), 5, django_assert_num_queries)


def test_rank_policy_page(client, django_assert_num_queries):
    pinned(client, reverse("ranks:policy"), 1, django_assert_num_queries)


def test_recalculation_page(client, django_assert_num_queries):
    job = RankRecalculation.objects.create()
    pinned(client, reverse("ranks:recalculation", args=[job.pk]), 1, django_assert_num_queries)


def _schedule_with_runs(name, runs=1):
    owner = get_user_model().objects.get(username="admin")
    schedule = ScheduledExport.objects.create(name=name, columns=["email"], owner=owner)
    for minute in range(runs):
        ScheduledExportRun.objects.create(
            schedule=schedule, occurrence=schedule.created_at.replace(minute=minute), status="done"
        )
    return schedule


def test_schedule_list(client, django_assert_num_queries):
    # the schedules with owner, source and their last run's status (subqueries), the count,
    # and the filter's choices (rewards, custom fields) to put the filters in words
    _schedule_with_runs("first")
    more = lambda: [_schedule_with_runs(f"s{n}", 2) for n in range(4)]  # noqa: E731
    pinned(client, reverse("customers:schedules"), 4, django_assert_num_queries, grow=more)


def test_schedule_detail(client, django_assert_num_queries):
    # the schedule (owner, source joined), the filter's choices (rewards, custom fields) to put
    # it in words, the custom fields again for the column labels, its runs (job and requester)
    schedule = _schedule_with_runs("first")
    url = reverse("customers:schedule_detail", args=[schedule.pk])
    more = lambda: [  # noqa: E731
        type(run).objects.create(schedule=schedule, occurrence=run.occurrence.replace(second=n))
        for n, run in enumerate(list(schedule.runs.all()) * 3, start=1)
    ]
    pinned(client, url, 5, django_assert_num_queries, grow=more)
