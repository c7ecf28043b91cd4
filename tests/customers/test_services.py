import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from customers import services
from customers.models import Customer, CustomerEvent, PasswordResetLink
from tests.customers.factories import CustomerFactory, OrderFactory, PointsTransactionFactory

pytestmark = pytest.mark.django_db


def test_create_generates_member_number_search_text_and_event(admin_user):
    customer = services.customer_create(
        data={"first_name": "Đức", "last_name": "Trần", "phone": "+84912000111"}, actor=admin_user
    )
    assert re.fullmatch(r"M\d{10}", customer.member_number)
    assert "|n tran duc" in customer.search_text
    assert "0912000111" in customer.search_text
    assert customer.events.get().kind == CustomerEvent.Kind.CREATED


def test_update_records_changed_fields_on_timeline(admin_user):
    customer = CustomerFactory(city="Huế")
    services.customer_update(customer=customer, data={"city": "Hà Nội"}, actor=admin_user)
    event = customer.events.get(kind=CustomerEvent.Kind.UPDATED)
    assert event.changes == {"City": ["Huế", "Hà Nội"]}
    assert event.actor == admin_user


def test_update_without_change_records_nothing(admin_user):
    customer = CustomerFactory(city="Huế")
    services.customer_update(customer=customer, data={"city": "Huế"}, actor=admin_user)
    assert not customer.events.exists()


def test_delete_refuses_customers_with_history(admin_user):
    customer = CustomerFactory()
    OrderFactory(customer=customer)
    with pytest.raises(ValidationError, match="cannot be deleted; archive or anonymise"):
        services.customer_delete(customer=customer, actor=admin_user)
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_delete_removes_customer_without_history_and_logs_it(admin_user):
    from django.contrib.admin.models import LogEntry

    customer = CustomerFactory()
    services.customer_delete(customer=customer, actor=admin_user)
    assert not Customer.objects.filter(pk=customer.pk).exists()
    entry = LogEntry.objects.get()
    assert entry.object_repr == customer.member_number
    assert entry.user == admin_user


def test_archive_and_restore(admin_user):
    customer = CustomerFactory()
    services.customer_archive(customer=customer, actor=admin_user)
    assert not Customer.objects.live().filter(pk=customer.pk).exists()
    services.customer_restore(customer=customer, actor=admin_user)
    assert Customer.objects.live().filter(pk=customer.pk).exists()
    kinds = list(customer.events.values_list("kind", flat=True))
    assert set(kinds) == {"archived", "restored"}


def test_anonymise_erases_personal_data_and_keeps_ledger(admin_user):
    customer = CustomerFactory(
        first_name="Lan", email="lan@example.com", phone="+84912000222", custom_fields={"a": 1}
    )
    PointsTransactionFactory(customer=customer)
    services.customer_update(customer=customer, data={"city": "Huế"}, actor=admin_user)
    services.customer_anonymise(customer=customer, reason="Ticket 42", actor=admin_user)
    customer.refresh_from_db()
    assert (customer.first_name, customer.email, customer.phone) == ("", None, None)
    assert customer.custom_fields == {}
    assert customer.is_anonymised and customer.is_archived
    assert "lan" not in customer.search_text
    assert customer.points_transactions.count() == 1
    assert not customer.events.exclude(changes={}).exists()
    with pytest.raises(ValidationError, match="cannot be restored"):
        services.customer_restore(customer=customer, actor=admin_user)


def test_anonymise_requires_a_reason(admin_user):
    customer = CustomerFactory()
    with pytest.raises(ValidationError, match="Give the reason"):
        services.customer_anonymise(customer=customer, reason="  ", actor=admin_user)


def test_reset_link_flow_end_to_end(client, admin_user):
    customer = CustomerFactory(email="mai@example.com")
    services.send_password_reset_link(customer=customer, actor=admin_user)
    assert mail.outbox[0].to == ["mai@example.com"]
    url = re.search(r"https?://\S+", mail.outbox[0].body).group(0)
    path = url.split("127.0.0.1:8000", 1)[1] if "127.0.0.1:8000" in url else url
    assert client.get(path).status_code == 200
    response = client.post(path, {"password1": "new-secret-99", "password2": "new-secret-99"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert check_password("new-secret-99", customer.password)
    # Single use.
    assert client.get(path).status_code == 410
    kinds = set(customer.events.values_list("kind", flat=True))
    assert {"reset_sent", "password_set"} <= kinds


def test_reset_link_expires(client, admin_user):
    customer = CustomerFactory(email="mai@example.com")
    services.send_password_reset_link(customer=customer, actor=admin_user)
    path = re.search(r"/account/reset/\S+/", mail.outbox[0].body).group(0)
    PasswordResetLink.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(path).status_code == 410
    response = client.post(path, {"password1": "new-secret-99", "password2": "new-secret-99"})
    assert response.status_code == 410


@pytest.mark.parametrize("then", ["block", "archive", "anonymise"])
def test_a_reset_link_stops_working_when_the_customer_is_blocked_archived_or_anonymised(
    client, admin_user, then
):
    customer = CustomerFactory(email="mai@example.com")
    services.send_password_reset_link(customer=customer, actor=admin_user)
    path = re.search(r"/account/reset/\S+/", mail.outbox[0].body).group(0)
    if then == "block":
        services.customer_update(customer=customer, data={"status": "blocked"}, actor=admin_user)
    elif then == "archive":
        services.customer_archive(customer=customer, actor=admin_user)
    else:
        services.customer_anonymise(customer=customer, reason="ticket 7", actor=admin_user)
    assert client.get(path).status_code == 410
    response = client.post(path, {"password1": "new-secret-99", "password2": "new-secret-99"})
    assert response.status_code == 410
    customer.refresh_from_db()
    assert not check_password("new-secret-99", customer.password)
    if then == "block":
        with pytest.raises(ValidationError, match="Blocked, archived or anonymised"):
            services.send_password_reset_link(customer=customer, actor=admin_user)


def test_reset_link_is_rate_limited(admin_user, settings):
    settings.PASSWORD_RESET_MAX_PER_HOUR = 2
    customer = CustomerFactory(email="mai@example.com")
    services.send_password_reset_link(customer=customer, actor=admin_user)
    services.send_password_reset_link(customer=customer, actor=admin_user)
    with pytest.raises(ValidationError, match="already sent 2 times in the last hour"):
        services.send_password_reset_link(customer=customer, actor=admin_user)
    assert len(mail.outbox) == 2


def test_reset_link_needs_an_email(admin_user):
    customer = CustomerFactory(email=None, phone="+84912000333")
    with pytest.raises(ValidationError, match="no email address"):
        services.send_password_reset_link(customer=customer, actor=admin_user)


def test_bulk_status_is_set_based_and_logged(admin_user, django_assert_max_num_queries):
    active = CustomerFactory.create_batch(3)
    already = CustomerFactory(status="blocked")
    with django_assert_max_num_queries(6):
        changed = services.bulk_set_status(
            queryset=Customer.objects.all(), status="blocked", actor=admin_user
        )
    assert changed == 3
    assert set(Customer.objects.values_list("status", flat=True)) == {"blocked"}
    events = CustomerEvent.objects.filter(kind="status")
    assert {e.customer_id for e in events} == {c.pk for c in active}
    assert events.first().changes == {"status": ["Active", "Blocked"]}
    assert not already.events.exists()


def test_reset_page_rejects_mismatched_passwords(client, admin_user):
    customer = CustomerFactory(email="mai@example.com")
    services.send_password_reset_link(customer=customer, actor=admin_user)
    path = re.search(r"/account/reset/\S+/", mail.outbox[0].body).group(0)
    response = client.post(path, {"password1": "new-secret-99", "password2": "other-secret-99"})
    assert "The two passwords differ." in response.content.decode()
    assert reverse("customers_public:reset_password", args=["x"]).startswith("/account/reset/")


@pytest.mark.parametrize("field", ["member_number", "old_member_id", "email", "phone"])
def test_the_database_refuses_a_second_customer_with_an_identifier(field):
    from django.db import IntegrityError, transaction

    first = CustomerFactory(old_member_id="OLD-1", email="a@example.com", phone="+84912345678")
    second = CustomerFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.filter(pk=second.pk).update(**{field: getattr(first, field)})


def test_free_member_numbers_skip_numbers_in_use_and_those_to_avoid(monkeypatch):
    from customers.services import free_member_numbers

    CustomerFactory(member_number="M0000000001")
    draws = iter([1, 2, 2, 3, 4])  # 1 is in use, 2 is to be avoided (and drawn twice)
    monkeypatch.setattr("customers.services.secrets.randbelow", lambda _n: next(draws))
    numbers = free_member_numbers(2, avoid={"M0000000002"})
    assert sorted(numbers) == ["M0000000003", "M0000000004"]
