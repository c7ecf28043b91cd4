"""The customer create / edit form: a rank only through the rank service, and a save that
changes nothing records nothing."""

from datetime import datetime

import pytest
from django import forms
from django.urls import reverse
from django.utils import timezone

from console.forms import CustomerForm
from customers.models import Customer, CustomerEvent, CustomFieldDefinition
from loyalty_admin.roles import ADMINISTRATOR, SALES
from ranks.models import RankChange
from tests.customers.factories import CustomerFactory, RankFactory

pytestmark = pytest.mark.django_db


def as_posted(form: forms.Form) -> dict:
    """What a browser posts back for `form` left as it was shown."""
    data = {}
    for field in form:
        if field.field.disabled:
            continue
        value = field.value()
        if isinstance(field.field.widget, forms.CheckboxInput):
            if value:
                data[field.html_name] = "on"
            continue
        shown = field.field.widget.format_value(value)
        if isinstance(shown, list):  # a select's one value
            shown = shown[0] if shown else ""
        data[field.html_name] = "" if shown is None else shown
    return data


@pytest.fixture
def ranks():
    return RankFactory(name="Member", level=1, is_default=True), RankFactory(name="Gold", level=3)


def test_sales_see_no_rank_field_and_cannot_change_the_rank(staff_client, ranks):
    member, gold = ranks
    customer = CustomerFactory(rank=member)
    client = staff_client(SALES)
    url = reverse("customers:update", args=[customer.pk])
    page = client.get(url)
    assert "rank" not in page.context["form"].fields
    data = {
        **as_posted(page.context["form"]),
        "rank": gold.pk,
        "rank_reason": "VIP",
        "city": "Vinh",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.city, customer.rank_id, customer.rank_overridden) == ("Vinh", member.pk, False)
    assert not RankChange.objects.exists()


def test_a_rank_chosen_on_the_form_is_a_manual_rank_with_its_reason(staff_client, ranks):
    member, gold = ranks
    customer = CustomerFactory(rank=member)
    client = staff_client(ADMINISTRATOR)
    url = reverse("customers:update", args=[customer.pk])
    data = {**as_posted(client.get(url).context["form"]), "rank": gold.pk, "city": "Vinh"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert response.context["form"].errors["rank_reason"] == [
        "Say why this customer gets this rank by hand."
    ]
    assert response.context["form"]["city"].value() == "Vinh"  # what was typed stays
    customer.refresh_from_db()
    assert (customer.city, customer.rank_id) != ("Vinh", gold.pk)

    client.post(url, {**data, "rank_reason": "Store manager's decision"})
    customer.refresh_from_db()
    assert (customer.city, customer.rank_id, customer.rank_overridden) == ("Vinh", gold.pk, True)
    change = RankChange.objects.get()
    assert (change.from_rank, change.to_rank, change.reason, change.note) == (
        member,
        gold,
        RankChange.Reason.OVERRIDE,
        "Store manager's decision",
    )


def test_a_new_customer_gets_the_default_rank_or_a_manual_one(staff_client, ranks):
    member, gold = ranks
    client = staff_client(ADMINISTRATOR)
    form = client.get(reverse("customers:create")).context["form"]
    assert form["rank"].value() == member.pk
    client.post(reverse("customers:create"), {**as_posted(form), "email": "a@example.com"})
    plain = Customer.objects.get(email="a@example.com")
    assert (plain.rank_id, plain.rank_overridden) == (member.pk, False)
    assert not RankChange.objects.exists()
    client.post(
        reverse("customers:create"),
        {**as_posted(form), "email": "b@example.com", "rank": gold.pk, "rank_reason": "Partner"},
    )
    chosen = Customer.objects.get(email="b@example.com")
    assert (chosen.rank_id, chosen.rank_overridden) == (gold.pk, True)
    assert RankChange.objects.get().customer == chosen


def test_saving_an_unchanged_form_changes_nothing_and_logs_nothing(staff_client, ranks, settings):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    CustomFieldDefinition.objects.create(
        key="newsletter", label="Newsletter", field_type=CustomFieldDefinition.FieldType.BOOLEAN
    )
    CustomFieldDefinition.objects.create(
        key="visit", label="Visit", field_type=CustomFieldDefinition.FieldType.DATE
    )
    customer = CustomerFactory(
        rank=ranks[0],
        joined_at=datetime(2024, 3, 5, 23, 59, 41, 123456, tzinfo=timezone.UTC),
        custom_fields={"visit": "2024-01-02"},
    )
    stamped = Customer.objects.values_list("updated_at", flat=True).get(pk=customer.pk)
    client = staff_client(ADMINISTRATOR)
    url = reverse("customers:update", args=[customer.pk])
    response = client.post(url, as_posted(client.get(url).context["form"]))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.updated_at == stamped
    assert customer.joined_at.microsecond == 123456
    assert customer.custom_fields == {"visit": "2024-01-02"}  # the unticked box stays unknown
    assert not CustomerEvent.objects.filter(kind=CustomerEvent.Kind.UPDATED).exists()


def test_an_edit_records_exactly_what_changed_in_local_time(admin_user, ranks, settings):
    settings.TIME_ZONE = "Asia/Ho_Chi_Minh"
    CustomFieldDefinition.objects.create(
        key="newsletter", label="Newsletter", field_type=CustomFieldDefinition.FieldType.BOOLEAN
    )
    customer = CustomerFactory(
        rank=ranks[0],
        joined_at=datetime(2024, 3, 5, 1, 0, 0, tzinfo=timezone.UTC),
        custom_fields={"newsletter": True},
    )
    form = CustomerForm(instance=customer)
    data = {**as_posted(form), "joined_at": "2024-03-05T09:30:00"}
    del data["cf_newsletter"]  # untick a box that was ticked: now "No"
    form = CustomerForm(data, instance=customer)
    assert form.is_valid(), form.errors
    from customers.services import customer_update

    customer_update(customer=customer, data=form.service_data(), actor=admin_user)
    event = CustomerEvent.objects.get(kind=CustomerEvent.Kind.UPDATED)
    assert event.changes == {
        "Joined at": ["2024-03-05 08:00:00", "2024-03-05 09:30:00"],
        "Newsletter": ["Yes", "No"],  # the custom field's label, its values in words
    }
