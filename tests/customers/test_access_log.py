"""The personal-data access log: a row for each customer page opened, masked value shown in
full and export of personal columns; the administrators' page; pruning."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cards import services as card_services
from customers import access_log
from customers.models import PersonalDataAccess
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, MARKETING
from tests.cards.test_activation import numbers, traveller
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
Kind = PersonalDataAccess.Kind
LOG = reverse("customers:access_log")


@pytest.fixture
def card():
    batch = card_services.generate_batch(
        name="Log", prefix="9770", size=1, validity_days=5, store=None, actor=None
    )
    return card_services.activate(
        number=numbers(batch)[0],
        traveller=traveller(passport_number="K7654321"),
        store=None,
        actor=make_staff(CUSTOMER_CARE, username="desk"),
    )


def test_opening_a_customers_page_is_logged(staff_client):
    customer = CustomerFactory()
    staff_client(MARKETING).get(customer.get_absolute_url())
    entry = PersonalDataAccess.objects.get()
    assert (entry.user.username, entry.customer, entry.kind) == ("marketing", customer, Kind.VIEWED)


def test_a_passport_shown_in_full_is_logged_a_masked_one_is_not(staff_client, card):
    marketing = staff_client(MARKETING)
    marketing.get(card.get_absolute_url())
    marketing.get(reverse("cards:list"))
    assert not PersonalDataAccess.objects.exists()  # Marketing sees it masked
    care = staff_client(CUSTOMER_CARE)
    care.get(card.get_absolute_url())
    care.get(reverse("cards:list"))
    page, listed = PersonalDataAccess.objects.order_by("id")
    assert (page.kind, page.customer, page.user.username) == (Kind.REVEALED, card.customer, "care")
    assert card.number in page.detail
    assert listed.kind == Kind.REVEALED and listed.customer is None
    assert listed.detail == "1 passport numbers on the cards list"


def test_exporting_personal_columns_is_logged_with_the_columns(staff_client):
    CustomerFactory()
    client = staff_client(MARKETING)
    form = {"query": "", "scope": "all", "file_format": "csv", "submitted": "1"}
    client.post(reverse("customers:export"), form | {"columns": ["member_number", "city"]})
    assert not PersonalDataAccess.objects.exists()
    client.post(
        reverse("customers:export"), form | {"columns": ["member_number", "email", "phone"]}
    )
    entry = PersonalDataAccess.objects.get()
    assert entry.kind == Kind.EXPORTED and entry.detail.endswith(": email, phone")


def test_administrators_read_the_log_with_filters(staff_client):
    first, second = CustomerFactory(), CustomerFactory()
    marketing = make_staff(MARKETING)
    access_log.record(user=marketing, kind=Kind.VIEWED, customer=first)
    access_log.record(user=marketing, kind=Kind.EXPORTED, detail="Export 3: email")
    client = staff_client(ADMINISTRATOR)
    page = client.get(LOG).content.decode()
    assert first.member_number in page and "Export 3: email" in page
    by_member = client.get(LOG, {"member": first.member_number.lower()}).content.decode()
    assert "Export 3: email" not in by_member and first.member_number in by_member
    by_kind = client.get(LOG, {"kind": Kind.EXPORTED}).content.decode()
    assert "Export 3: email" in by_kind and second.member_number not in by_kind
    assert "No entry matches" in client.get(LOG, {"staff": "nobody"}).content.decode()


def test_only_administrators_open_the_log(staff_client):
    assert staff_client(CUSTOMER_CARE).get(LOG).status_code == 403


def test_entries_past_the_retention_are_pruned(settings):
    settings.PII_LOG_RETENTION_DAYS = 30
    user = make_staff(MARKETING)
    access_log.record(user=user, kind=Kind.VIEWED)
    old = PersonalDataAccess.objects.create(
        user=user, kind=Kind.VIEWED, at=timezone.now() - timedelta(days=31)
    )
    assert access_log.prune() == 1
    assert not PersonalDataAccess.objects.filter(pk=old.pk).exists()
    assert PersonalDataAccess.objects.count() == 1
    assert ("customers.access_log.prune", 24 * 60 * 60) in settings.WORKER_PERIODIC
