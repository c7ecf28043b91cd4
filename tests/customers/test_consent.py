"""Marketing consent per channel: recorded with time and source, edited on the customer form,
read by imports (and put back by their undo), and criteria of the filter language."""

from datetime import datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer, CustomerEvent, MarketingConsent
from customers.selectors import customers_matching
from customers.services import customer_anonymise, set_consents
from loyalty_admin.roles import SALES
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
EMAIL, SMS, APP = MarketingConsent.Channel


def state(customer) -> dict:
    return {
        c.channel: (c.granted, c.source) for c in MarketingConsent.objects.filter(customer=customer)
    }


def ids(query) -> set[int]:
    return set(customers_matching(query).values_list("pk", flat=True))


def test_a_change_is_recorded_with_time_source_and_timeline():
    customer = CustomerFactory()
    with time_machine.travel("2026-11-01 10:00 +07:00", tick=False):
        assert set_consents(
            customer=customer, answers={EMAIL: True, SMS: False}, source="counter"
        ) == ["Email"]  # "no" from someone never asked records nothing
    consent = MarketingConsent.objects.get(customer=customer)
    assert (consent.channel, consent.granted, consent.source) == ("email", True, "counter")
    assert consent.changed_at == timezone.make_aware(datetime(2026, 11, 1, 10))
    assert set_consents(customer=customer, answers={EMAIL: True}, source="form") == []
    set_consents(customer=customer, answers={EMAIL: False}, source="request")
    assert state(customer) == {"email": (False, "request")}
    events = CustomerEvent.objects.filter(customer=customer, kind="consent").order_by("id")
    assert [e.changes for e in events] == [
        {"Email": ["not agreed", "agreed"]},
        {"Email": ["agreed", "not agreed"]},
    ]
    assert events.last().message == "Customer's request"


def test_consent_criteria_and_reachability():
    both = CustomerFactory(phone="+84912000001")
    no_email = CustomerFactory(email=None, phone="+84912000002")
    withdrawn = CustomerFactory()
    never = CustomerFactory()
    app_user = CustomerFactory(app_last_seen_at=timezone.now())
    set_consents(customer=both, answers={EMAIL: True, SMS: True}, source="form")
    set_consents(customer=no_email, answers={EMAIL: True}, source="form")
    set_consents(customer=withdrawn, answers={EMAIL: True}, source="form")
    set_consents(customer=withdrawn, answers={EMAIL: False}, source="request")
    set_consents(customer=app_user, answers={APP: True}, source="form")
    set_consents(customer=never, answers={APP: True}, source="form")  # but never used the app
    assert ids("consent_email=true") == {both.pk, no_email.pk}
    assert ids("consent_email=false") == {withdrawn.pk, never.pk, app_user.pk}
    assert ids("reachable=email") == {both.pk}
    assert ids("reachable=email&reachable=sms") == {both.pk}
    assert ids("reachable=app") == {app_user.pk}
    assert ids("reachable=sms&consent_email=true") == {both.pk}
    with pytest.raises(ValidationError, match="Reachable by: Select a valid choice"):
        customers_matching("reachable=fax")


def test_the_customer_form_edits_consent_with_its_source(staff_client):
    customer = CustomerFactory(city="Huế")
    client = staff_client(SALES)
    page = client.get(reverse("customers:update", args=[customer.pk])).content.decode()
    assert 'name="consent_email"' in page and "At the counter" in page
    data = {
        "first_name": customer.first_name,
        "last_name": customer.last_name,
        "email": customer.email,
        "country": "VN",
        "customer_type": "retail",
        "status": "active",
        "joined_at": timezone.localtime(customer.joined_at).strftime("%Y-%m-%dT%H:%M:%S"),
        "city": "Huế",
        "consent_email": "on",
        "consent_sms": "on",
        "consent_source": "counter",
    }
    response = client.post(reverse("customers:update", args=[customer.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert state(customer) == {"email": (True, "counter"), "sms": (True, "counter")}
    detail = client.get(customer.get_absolute_url()).content.decode()
    assert "Email:" in detail and "agreed" in detail and "at the counter" in detail
    page = client.get(reverse("customers:update", args=[customer.pk])).content.decode()
    assert 'name="consent_email" class="form-check-input" id="id_consent_email" checked' in page


def test_anonymising_removes_consent(admin_user):
    customer = CustomerFactory()
    set_consents(customer=customer, answers={EMAIL: True}, source="form")
    customer_anonymise(customer=customer, reason="Erasure request", actor=admin_user)
    assert not MarketingConsent.objects.filter(customer=customer).exists()


@pytest.fixture
def import_file(tmp_path, settings, db):
    from tests.migration.conftest import csv_bytes, run, upload

    settings.MEDIA_ROOT = tmp_path / "media"

    def go(rows, **options):
        return run(upload(tmp_path, "consent.csv", csv_bytes(rows)), **options)

    return go


def test_an_import_reads_consent_and_its_undo_puts_it_back(import_file):
    from migration.undo import undo

    existing = CustomerFactory(old_member_id="L1")
    with time_machine.travel("2026-10-01 10:00 +07:00", tick=False):
        set_consents(customer=existing, answers={EMAIL: True}, source="counter")
    job = import_file(
        [
            ["Old member ID", "Email", "Email consent", "SMS consent", "Zalo consent"],
            ["L1", existing.email, "no", "yes", ""],
            ["L2", "new@example.com", "có", "không", "x"],
        ]
    )
    assert job.status == "done", job.error
    assert (job.created_count, job.updated_count) == (1, 1)
    new = Customer.objects.get(old_member_id="L2")
    assert state(new) == {"email": (True, "import"), "app": (True, "import")}
    assert state(existing) == {"email": (False, "import"), "sms": (True, "import")}
    event = CustomerEvent.objects.filter(customer=existing, kind="updated").latest()
    assert event.changes["Marketing consent: Email"] == ["agreed", "not agreed"]
    undo(job)
    assert state(existing) == {"email": (True, "counter")}
    consent = MarketingConsent.objects.get(customer=existing)
    assert consent.changed_at == timezone.make_aware(datetime(2026, 10, 1, 10))
    assert not Customer.objects.filter(old_member_id="L2").exists()


def test_an_import_refuses_a_consent_that_is_not_yes_or_no(import_file):
    job = import_file([["Old member ID", "Email", "SMS consent"], ["L9", "a@b.vn", "maybe"]])
    assert job.failed_count == 1
    assert not Customer.objects.filter(old_member_id="L9").exists()
