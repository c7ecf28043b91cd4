"""Archive, restore, anonymise and bulk status through the web, with their confirmations."""

import pytest
from django.urls import reverse

from customers.models import Customer, CustomerEvent, PointsTransaction
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, SALES
from tests.customers.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_archived_customer_is_listed_under_archived_and_restorable(staff_client):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory(first_name="Hoa")
    OrderFactory(customer=customer)
    client.post(reverse("customers:delete", args=[customer.pk]), {"action": "archive"})
    customer.refresh_from_db()
    assert customer.is_archived
    assert "Hoa" not in client.get(reverse("customers:list")).content.decode()
    archived_page = client.get(reverse("customers:list") + "?archived=true").content.decode()
    assert "Hoa" in archived_page

    response = client.post(reverse("customers:restore", args=[customer.pk]), follow=True)
    assert "The customer was restored." in response.content.decode()
    customer.refresh_from_db()
    assert not customer.is_archived
    kinds = list(customer.events.values_list("kind", flat=True))
    assert CustomerEvent.Kind.ARCHIVED in kinds and CustomerEvent.Kind.RESTORED in kinds


def test_restoring_a_live_customer_says_why_not(staff_client):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory()
    response = client.post(reverse("customers:restore", args=[customer.pk]), follow=True)
    assert "This customer is not archived." in response.content.decode()


def test_anonymise_needs_reason_and_confirmation_and_keeps_what_was_typed(staff_client):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory(email="erase-me@example.com")
    url = reverse("customers:anonymise", args=[customer.pk])
    page = client.get(url).content.decode()
    assert "erased for good" in page  # the page warns before anything happens

    response = client.post(url, {"reason": "Ticket 4411"})  # box not ticked
    assert response.status_code == 200
    assert 'value="Ticket 4411"' in response.content.decode()
    customer.refresh_from_db()
    assert customer.email == "erase-me@example.com"

    response = client.post(url, {"reason": "Ticket 4411", "confirm": "on"}, follow=True)
    assert "personal data was erased" in response.content.decode()
    customer.refresh_from_db()
    assert customer.email is None and customer.is_anonymised
    event = customer.events.get(kind=CustomerEvent.Kind.ANONYMISED)
    assert "Ticket 4411" in event.message


def test_anonymise_keeps_the_points_ledger(staff_client):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory()
    PointsTransaction.objects.create(
        customer=customer, delta=120, reason="bonus", balance_after=120
    )
    client.post(
        reverse("customers:anonymise", args=[customer.pk]),
        {"reason": "GDPR request", "confirm": "on"},
    )
    assert PointsTransaction.objects.filter(customer=customer).count() == 1


@pytest.mark.parametrize("role", [SALES, CUSTOMER_CARE])
def test_only_administrators_erase(staff_client, role):
    client = staff_client(role)
    customer = CustomerFactory()
    response = client.post(
        reverse("customers:anonymise", args=[customer.pk]), {"reason": "x", "confirm": "on"}
    )
    assert response.status_code == 403
    customer.refresh_from_db()
    assert not customer.is_anonymised


def test_bulk_status_on_all_matching_changes_every_match(staff_client):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3, city="Huế")
    other = CustomerFactory(city="Đà Nẵng")
    response = client.post(
        reverse("customers:bulk_status"),
        {"query": "city=Huế", "scope": "all", "status": "inactive", "confirmed": "yes"},
        follow=True,
    )
    assert "3 customers changed status." in response.content.decode()
    assert Customer.objects.filter(status="inactive").count() == 3
    other.refresh_from_db()
    assert other.status != "inactive"


def test_bulk_status_on_many_customers_runs_in_the_background(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.BULK_SYNC_ROW_LIMIT = 2
    client = staff_client(ADMINISTRATOR)
    CustomerFactory.create_batch(3, city="Huế")
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("customers:bulk_status"),
            {"query": "city=Huế", "scope": "all", "status": "blocked", "confirmed": "yes"},
            follow=True,
        )
    assert "runs in the background" in response.content.decode()
    assert Customer.objects.filter(status="blocked").count() == 0  # nothing yet in the request
    assert len(callbacks) == 1
    callbacks[0]()  # the worker picks the task up (immediate backend in tests)
    assert Customer.objects.filter(status="blocked").count() == 3
    assert CustomerEvent.objects.filter(kind=CustomerEvent.Kind.STATUS).count() == 3


def test_bulk_status_without_selection_explains(staff_client):
    client = staff_client(ADMINISTRATOR)
    response = client.post(
        reverse("customers:bulk_status"),
        {"query": "", "scope": "selected", "status": "inactive"},
        follow=True,
    )
    assert "Select at least one customer" in response.content.decode()
