"""Values as people read them: money with its currency, phones formatted, plurals right."""

import pytest
from django.urls import reverse

from core.money import money
from customers import services
from customers.models import CustomerEvent
from loyalty_admin.roles import ADMINISTRATOR
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db


def test_money_carries_the_configured_currency(settings):
    assert money(1234567.5) == "1,234,568\u00a0₫"
    settings.CURRENCY_SYMBOL, settings.CURRENCY_PREFIX = "$", True
    assert money(1234) == "$1,234"
    assert money(None) == "—"


def test_the_customer_page_and_list_show_money_and_phones_alike(staff_client):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory(phone="+84912345678", total_spent=2500000)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert "+84 912 345 678" in page and "+84912345678" not in page
    assert "2,500,000\u00a0₫" in page
    listing = client.get(reverse("customers:list")).content.decode()
    assert "+84 912 345 678" in listing and "2,500,000\u00a0₫" in listing


def test_the_timeline_names_fields_by_label(admin_user):
    customer = CustomerFactory(city="Huế")
    services.customer_update(customer=customer, data={"city": "Vinh"}, actor=admin_user)
    assert CustomerEvent.objects.get(kind="updated").changes == {"City": ["Huế", "Vinh"]}


def test_one_is_singular(staff_client, django_capture_on_commit_callbacks):
    client = staff_client(ADMINISTRATOR)
    customer = CustomerFactory()
    confirm = client.post(
        reverse("customers:bulk_status"), {"ids": [customer.pk], "status": "inactive"}
    )
    assert "Set the status of 1 customer to" in confirm.content.decode()
    done = client.post(
        reverse("customers:bulk_status"),
        {"ids": [customer.pk], "status": "inactive", "confirmed": "yes"},
        follow=True,
    )
    assert "1 customer changed status." in done.content.decode()
    tag = TagFactory(name="VIP")
    untag = client.post(
        reverse("tags:bulk"), {"ids": [customer.pk], "tags": [tag.pk], "tag_action": "remove"}
    ).content.decode()
    assert "Remove these tags from 1 customer?" in untag
    assert "Customers who do not have a tag are left as they are" in untag
    assert "keep it as it is" not in untag
