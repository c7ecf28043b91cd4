"""Out-of-range numbers in the one filter language: a clear message on every page that takes a
filter, never a server error; and a bad rule never stops the other automatic tags."""

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from customers.models import CustomFieldDefinition
from loyalty_admin.roles import ADMINISTRATOR
from tags.models import CustomerTag, Tag
from tests.customers.factories import CustomerFactory, TagFactory

pytestmark = pytest.mark.django_db
HUGE = "9" * 40
BAD_FILTERS = [
    ("purchased_days=1e9", "Purchased in the last … days"),
    ("app_used_days=99999999999", "Used the app in the last … days"),
    (f"orders_min={HUGE}", "Purchased at least … times"),
    ("reward_min=1e40", "Redeemed at least (times)"),
    (f"rank={HUGE}", "Rank"),
    (f"store={HUGE}", "Preferred store"),
    (f"tags_any={HUGE}", "Has any of the tags"),
    (f"tags_all=1&tags_all={HUGE}", "Has all of the tags"),
    (f"tags_none={HUGE}", "Has none of the tags"),
    ("points_min=1e40", "Points balance"),
    (f"spent_max=-{HUGE}", "Total spent"),
    ("cf_size_min=1e40", "Size"),
    (f"rank_preview={HUGE}-up", "Rank change preview"),
]


@pytest.fixture(autouse=True)
def number_field():
    CustomFieldDefinition.objects.create(
        key="size", label="Size", field_type=CustomFieldDefinition.FieldType.NUMBER
    )


@pytest.mark.parametrize(("query", "label"), BAD_FILTERS)
def test_the_list_names_the_bad_criterion(staff_client, query, label):
    response = staff_client(ADMINISTRATOR).get(f"{reverse('customers:list')}?{query}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Some filters are not valid" in page
    assert f"<li>{label}:" in page


@pytest.mark.parametrize(("query", "label"), BAD_FILTERS)
def test_export_bulk_and_rules_refuse_the_bad_criterion(staff_client, query, label):
    client = staff_client(ADMINISTRATOR)
    CustomerFactory()
    export = client.post(
        reverse("customers:export"),
        {
            "query": query,
            "scope": "all",
            "file_format": "csv",
            "columns": ["member_number"],
            "submitted": "1",
        },
    )
    assert export.status_code == 400
    assert f"The filter is not valid: {label}:" in export.content.decode()
    bulk = client.post(
        reverse("customers:bulk_status"), {"query": query, "scope": "all", "status": "inactive"}
    )
    assert bulk.status_code == 302
    assert [m.message.split(":")[0] for m in bulk.wsgi_request._messages] == [label]
    tag = client.post(
        reverse("tags:create"),
        {"name": "Rule", "colour": "blue", "kind": "automatic", "rule": query},
    )
    assert tag.status_code == 400
    assert "This rule is not a valid customer filter" in tag.content.decode()
    assert not Tag.objects.exists()


def test_a_far_end_date_is_a_valid_criterion(staff_client):
    response = staff_client(ADMINISTRATOR).get(
        f"{reverse('customers:list')}?reward=any&reward_to=9999-12-31"
    )
    assert response.status_code == 200
    assert "Some filters are not valid" not in response.content.decode()


@pytest.mark.parametrize("ids", [HUGE[:20], "²", "12,abc"])
def test_selections_with_ids_no_row_can_have_are_refused(staff_client, ids):
    client = staff_client(ADMINISTRATOR)
    export = client.post(
        reverse("customers:export"),
        {
            "ids": ids,
            "scope": "selected",
            "file_format": "csv",
            "columns": ["member_number"],
            "submitted": "1",
        },
    )
    assert export.status_code == 400
    assert "The selection is not valid." in export.content.decode()
    bulk = client.post(
        reverse("customers:bulk_status"), {"ids": ids.split(","), "status": "inactive"}
    )
    assert bulk.status_code == 302
    assert [m.message for m in bulk.wsgi_request._messages] == ["The selection is not valid."]


def test_a_failing_rule_is_recorded_and_the_others_still_run(capsys):
    customer = CustomerFactory(order_count=7)
    broken = TagFactory(name="A broken", kind=Tag.Kind.AUTOMATIC, rule="purchased_days=1e9")
    working = TagFactory(name="B loyal", kind=Tag.Kind.AUTOMATIC, rule="orders_min=5")
    with pytest.raises(CommandError, match="1 rule"):
        call_command("apply_automatic_tags")
    assert "A broken: not applied — " in capsys.readouterr().err
    broken.refresh_from_db()
    assert "Purchased in the last … days" in broken.rule_error
    assert broken.rule_failed_at is not None
    assert CustomerTag.objects.filter(tag=working, customer=customer).exists()
    broken.rule = "purchased_days=30"
    broken.save()
    call_command("apply_automatic_tags", "--tag", broken.slug)
    broken.refresh_from_db()
    assert (broken.rule_error, broken.rule_failed_at) == ("", None)


def test_the_tag_list_shows_a_rule_that_failed(staff_client):
    TagFactory(
        name="Broken",
        kind=Tag.Kind.AUTOMATIC,
        rule="orders_min=5",
        rule_error="Some reason staff can act on.",
    )
    page = staff_client(ADMINISTRATOR).get(reverse("tags:list")).content.decode()
    assert "Last run failed" in page
    assert "Some reason staff can act on." in page
