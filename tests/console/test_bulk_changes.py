"""Bulk changes in the background are jobs (customers.BulkChange): their outcome or their
failure is on the Bulk changes page, and a failed one can be retried."""

import pytest
from django.urls import reverse

from customers import bulk
from customers.models import BulkChange, Customer
from loyalty_admin.roles import ADMINISTRATOR, MARKETING
from tags.models import CustomerTag, Tag
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def background(settings):
    settings.BULK_SYNC_ROW_LIMIT = 1


def test_a_background_status_change_leaves_a_job_with_its_outcome(
    staff_client, background, django_capture_on_commit_callbacks
):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3, city="Huế")
    data = {"scope": "all", "query": "city=Huế", "confirmed": "yes", "status": "inactive"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customers:bulk_status"), data)
    change = BulkChange.objects.get()
    assert (change.kind, change.status, change.rows_done) == ("status", "done", 3)
    assert change.description and change.created_by.username == "admin"
    assert Customer.objects.filter(status="inactive").count() == 3
    page = client.get(reverse("customers:changes")).content.decode()
    assert "Status change" in page and "Done" in page


def test_a_failed_change_shows_why_and_retries(
    staff_client, background, monkeypatch, django_capture_on_commit_callbacks
):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(2, city="Vinh")
    tag = TagFactory()

    def broken(job):
        raise RuntimeError("the database went away")

    monkeypatch.setitem(bulk.BULK_ACTIONS, BulkChange.Kind.TAG, broken)
    data = {"scope": "all", "query": "city=Vinh", "confirmed": "yes", "tags": [tag.pk]}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("tags:bulk"), {**data, "action": "add"})
    change = BulkChange.objects.get()
    assert change.status == "failed" and change.error == "RuntimeError: the database went away"
    page = client.get(reverse("customers:changes")).content.decode()
    assert "the database went away" in page and "Retry" in page
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("customers:change_retry", args=[change.pk]))
    change.refresh_from_db()
    assert change.status == "done" and change.rows_done == 2
    assert CustomerTag.objects.filter(tag=tag).count() == 2


def test_a_rule_run_in_the_background_is_a_job(staff_client, django_capture_on_commit_callbacks):
    client = staff_client(ADMINISTRATOR)
    member = CustomerFactory(city="Huế")
    tag = Tag.objects.create(name="Huế", slug="hue", kind=Tag.Kind.AUTOMATIC, rule="city=Huế")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("tags:apply_rules"))
    change = BulkChange.objects.get(kind=BulkChange.Kind.RULES)
    assert change.status == "done" and change.outcome == {"Huế": [1, 0]}
    page = client.get(reverse("customers:changes")).content.decode()
    assert "Whom each automatic tag" in page and "All customers" not in page
    assert CustomerTag.objects.filter(tag=tag, customer=member).exists()


def test_staff_see_their_own_changes_and_administrators_everyones(staff_client):
    BulkChange.objects.create(kind="archive", description="Someone else's")
    assert "Someone else" not in staff_client(MARKETING).get(reverse("customers:changes")).text
    assert "Someone else" in staff_client(ADMINISTRATOR).get(reverse("customers:changes")).text
