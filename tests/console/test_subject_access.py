"""A customer's own data in one workbook: every relation of the customer has its sheet and
its row (one assertion each, so a forgotten relation fails), gated and logged."""

import io
from datetime import timedelta

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from audiences.models import Audience, AudienceMember
from cards import services as card_services
from customers.models import CustomerEvent, MarketingConsent, PersonalDataAccess
from loyalty_admin.roles import CUSTOMER_CARE, MARKETING, SALES
from ranks.models import RankChange
from tests.cards.test_activation import numbers, traveller
from tests.customers.factories import (
    CustomerFactory,
    CustomerTagFactory,
    CustomerTaskFactory,
    CustomFieldFactory,
    OrderFactory,
    PointsTransactionFactory,
    RewardRedemptionFactory,
    TagFactory,
)
from tests.wholesale.factories import WholesaleApplicationFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer():
    CustomFieldFactory(key="shoe_size", label="Shoe size", field_type="text")
    person = CustomerFactory(
        first_name="Hoa",
        last_name="Trần",
        email="hoa@example.vn",
        custom_fields={"shoe_size": "=38"},
    )
    OrderFactory(customer=person, number="ORD-77")
    PointsTransactionFactory(customer=person, delta=120, reference="REF-55")
    RewardRedemptionFactory(customer=person, points_spent=345)
    CustomerTaskFactory(customer=person, name="Write a review")
    CustomerTagFactory(customer=person, tag=TagFactory(name="Coffee lover"))
    RankChange.objects.create(customer=person, from_name="Silver", to_name="Gold", reason="upgrade")
    audience = Audience.objects.create(name="Spring list", name_key="spring", kind="static")
    AudienceMember.objects.create(audience=audience, customer=person, added_at=timezone.now())
    WholesaleApplicationFactory(customer=person, business_name="Hoa's shop")
    batch = card_services.generate_batch(
        name="DSAR", prefix="9780", size=1, validity_days=5, store=None, actor=None
    )
    today = timezone.localdate()
    card_services.activate(
        number=numbers(batch)[0],
        traveller=traveller(
            passport_number="H1234567", arrival=today, departure=today + timedelta(days=3)
        ),
        store=None,
        actor=None,
        customer=person,
    )
    MarketingConsent.objects.create(customer=person, channel="sms", granted=True)
    CustomerEvent.objects.create(customer=person, kind="updated", message="Moved to Huế")
    return person


def sheets_of(response) -> dict[str, list[tuple]]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return {
        sheet.title: [tuple(row) for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }


def cells(rows) -> set:
    return {cell for row in rows for cell in row}


def test_the_file_holds_every_relation_of_the_customer(staff_client, customer):
    response = staff_client(CUSTOMER_CARE).post(
        reverse("customers:personal_data", args=[customer.pk])
    )
    assert response["Content-Disposition"].startswith('attachment; filename="personal-data-')
    book = sheets_of(response)
    assert ("Email", "hoa@example.vn") in book["Profile"]
    assert ("Shoe size", "=38") in book["Profile"]  # text, never a formula
    assert "ORD-77" in cells(book["Orders"])
    assert "REF-55" in cells(book["Points ledger"])
    assert 345 in cells(book["Redemptions"])
    assert "Write a review" in cells(book["Tasks"])
    assert "Coffee lover" in cells(book["Tags"])
    assert "Gold" in cells(book["Rank history"])
    assert "Spring list" in cells(book["Audiences"])
    assert "Hoa's shop" in cells(book["Wholesale applications"])
    assert "H1234567" in cells(book["Tourist cards"])
    assert "SMS" in cells(book["Marketing consent"])
    assert "Moved to Huế" in cells(book["Timeline"])


def test_the_file_is_logged_and_on_the_timeline(staff_client, customer):
    staff_client(CUSTOMER_CARE).post(reverse("customers:personal_data", args=[customer.pk]))
    entry = PersonalDataAccess.objects.get(kind="exported")
    assert entry.customer == customer and entry.user.username == "care"
    assert customer.events.filter(kind="exported", message__contains="access request").exists()


@pytest.mark.parametrize("role", [SALES, MARKETING])
def test_only_care_and_administrators_export_a_customers_data(staff_client, customer, role):
    client = staff_client(role)
    assert client.post(reverse("customers:personal_data", args=[customer.pk])).status_code == 403
    assert (
        'data-testid="personal-data"'
        not in client.get(customer.get_absolute_url()).content.decode()
    )
