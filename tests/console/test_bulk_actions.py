"""Archive and a manual rank as bulk actions: ticked rows or all matching, confirmed with the
count, in the background above the sync limit."""

import pytest
from django.urls import reverse

from customers.models import Customer, CustomerEvent
from loyalty_admin.roles import ADMINISTRATOR, SALES
from ranks.models import RankChange
from tests.customers.factories import CustomerFactory, RankFactory

pytestmark = pytest.mark.django_db


def test_archive_the_ticked_rows_after_confirming(staff_client):
    client = staff_client(ADMINISTRATOR)
    keep, *gone = CustomerFactory.create_batch(3)
    data = {"ids": [c.pk for c in gone], "scope": "selected", "query": ""}
    confirm = client.post(reverse("customers:bulk_archive"), data)
    assert "Archive 2 customers?" in confirm.content.decode()
    assert not Customer.objects.filter(archived_at__isnull=False).exists()  # nothing yet
    done = client.post(reverse("customers:bulk_archive"), {**data, "confirmed": "yes"}, follow=True)
    assert "2 customers archived." in done.content.decode()
    assert set(Customer.objects.archived().values_list("pk", flat=True)) == {c.pk for c in gone}
    assert CustomerEvent.objects.filter(kind=CustomerEvent.Kind.ARCHIVED).count() == 2
    assert Customer.objects.live().get() == keep


def test_archiving_all_matching_above_the_limit_runs_in_the_background(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.BULK_SYNC_ROW_LIMIT = 2
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3, city="Huế")
    CustomerFactory(city="Vinh")
    data = {"scope": "all", "query": "city=Huế", "confirmed": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:bulk_archive"), data, follow=True)
    assert "runs in the background" in response.content.decode()
    assert Customer.objects.archived().count() == 3 and Customer.objects.live().count() == 1


def test_sales_may_not_archive_in_bulk(staff_client):
    customer = CustomerFactory()
    response = staff_client(SALES).post(
        reverse("customers:bulk_archive"), {"ids": [customer.pk], "confirmed": "yes"}
    )
    assert response.status_code == 403
    assert Customer.objects.live().exists()


def test_a_manual_rank_in_bulk_asks_the_reason_and_records_history(staff_client):
    client = staff_client(ADMINISTRATOR)
    member = RankFactory(name="Member", level=1, is_default=True)
    gold = RankFactory(name="Gold", level=3)
    a, b = CustomerFactory.create_batch(2, rank=member)
    already = CustomerFactory(rank=gold, rank_overridden=True)
    data = {"ids": [a.pk, b.pk, already.pk], "scope": "selected", "query": "", "rank": gold.pk}
    confirm = client.post(reverse("ranks:bulk_override"), data)
    page = confirm.content.decode()
    assert "Give 3 customers this rank by hand?" in page and 'name="reason"' in page
    refused = client.post(reverse("ranks:bulk_override"), {**data, "confirmed": "yes"})
    assert refused.status_code == 400 and "This field is required." in refused.content.decode()
    done = client.post(
        reverse("ranks:bulk_override"),
        {**data, "confirmed": "yes", "reason": "Partner store staff"},
        follow=True,
    )
    assert "3 customers now hold Gold by hand." in done.content.decode()
    for customer in (a, b, already):
        customer.refresh_from_db()
        assert (customer.rank, customer.rank_overridden) == (gold, True)
    history = RankChange.objects.filter(reason=RankChange.Reason.OVERRIDE)
    assert sorted(history.values_list("customer_id", flat=True)) == sorted([a.pk, b.pk])
    assert set(history.values_list("from_name", "to_name", "note")) == {
        ("Member", "Gold", "Partner store staff")
    }


def test_a_manual_rank_needs_a_real_rank(staff_client):
    customer = CustomerFactory()
    response = staff_client(ADMINISTRATOR).post(
        reverse("ranks:bulk_override"), {"ids": [customer.pk], "rank": "999999"}, follow=True
    )
    assert "Choose a rank." in response.content.decode()
