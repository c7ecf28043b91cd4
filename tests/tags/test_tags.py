"""Tag management: the list, add / edit / delete, and manual tags on a customer with
provenance and history."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse

from customers.models import CustomerEvent
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, MARKETING, SALES
from tags.models import CustomerTag, Tag
from tests.customers.factories import CustomerFactory, CustomerTagFactory, TagFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()


def test_list_shows_counts_kind_and_creator_with_search_and_sort(staff_client):
    client = staff_client(SALES)
    vip, lapsed = (
        TagFactory(name="VIP"),
        TagFactory(name="Lapsed", description="No order in 6 months"),
    )
    TagFactory(name="App user", kind="automatic", rule="app_days=30")
    for customer in CustomerFactory.create_batch(3):
        CustomerTagFactory(customer=customer, tag=lapsed)
    CustomerTagFactory(tag=vip)
    page = client.get(reverse("tags:list"), {"sort": "-customers"}).content.decode()
    assert page.index("Lapsed") < page.index("VIP") < page.index("App user")
    assert f'?tags_any={lapsed.pk}">3</a>' in page
    assert "Automatic" in page and reverse("tags:create") not in page  # Sales may not add
    searched = client.get(reverse("tags:list"), {"q": "order"}).content.decode()
    assert "Lapsed" in searched and "VIP" not in searched
    assert (
        "No tag matches this search."
        in client.get(reverse("tags:list"), {"q": "zzz"}).content.decode()
    )


def test_create_and_edit_with_case_insensitive_duplicates_refused(staff_client):
    client = staff_client(MARKETING)
    response = client.post(
        reverse("tags:create"), {"name": "Nhà hàng", "colour": "green"}, follow=True
    )
    assert "Tag “Nhà hàng” saved." in response.content.decode()
    tag = Tag.objects.get()
    assert (
        tag.slug == "nha-hang" and tag.created_by.username == "marketing" and tag.kind == "manual"
    )
    response = client.post(reverse("tags:create"), {"name": "  NHÀ   HÀNG ", "colour": "blue"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "A tag named “Nhà hàng” already exists." in body and 'value="  NHÀ   HÀNG "' in body
    other = TagFactory(name="VIP")
    response = client.post(
        reverse("tags:update", args=[other.pk]), {"name": "nhà hàng", "colour": "red"}
    )
    assert "already exists" in response.content.decode()
    client.post(reverse("tags:update", args=[other.pk]), {"name": "VIP gold", "colour": "gold"})
    other.refresh_from_db()
    assert (other.name, other.colour) == ("VIP gold", "gold")


def test_delete_confirms_with_the_count_then_removes_and_logs(staff_client):
    client = staff_client(MARKETING)
    tag = TagFactory(name="Complaint")
    customers = CustomerFactory.create_batch(2)
    for customer in customers:
        CustomerTagFactory(customer=customer, tag=tag)
    page = client.get(reverse("tags:delete", args=[tag.pk])).content.decode()
    assert "“Complaint” is on 2 customers." in page
    response = client.post(reverse("tags:delete", args=[tag.pk]), follow=True)
    assert "Tag “Complaint” deleted and removed from 2 customers." in response.content.decode()
    assert not Tag.objects.exists() and not CustomerTag.objects.exists()
    events = CustomerEvent.objects.filter(kind="tags", message="Tag “Complaint” deleted")
    assert sorted(events.values_list("customer_id", flat=True)) == sorted(c.pk for c in customers)


def test_manual_tags_added_and_removed_inline_with_provenance(staff_client):
    client = staff_client(CUSTOMER_CARE)
    customer = CustomerFactory()
    vip, student = TagFactory(name="VIP"), TagFactory(name="Student")
    url = reverse("tags:customer_tags", args=[customer.pk])
    response = client.post(url, {"tags": [vip.pk, student.pk]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="customer-tags"')
    client.post(url, {"tags": [vip.pk]}, HTTP_HX_REQUEST="true")  # again: nothing changes
    links = CustomerTag.objects.filter(customer=customer)
    assert links.count() == 2
    assert set(links.values_list("source", "assigned_by__username")) == {("manual", "care")}
    client.post(url, {"remove": student.pk}, HTTP_HX_REQUEST="true")
    assert list(links.values_list("tag__name", flat=True)) == ["VIP"]
    messages = list(
        CustomerEvent.objects.filter(customer=customer, kind="tags")
        .order_by("id")
        .values_list("message", flat=True)
    )
    assert messages == ["Added Student, VIP", "Removed Student"]
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'aria-label="Remove VIP"' in page and "Manual · care" in page


def test_automatic_tags_cannot_be_hand_assigned_or_removed(staff_client):
    client = staff_client(SALES)
    customer = CustomerFactory()
    auto = TagFactory(name="App user", kind="automatic", rule="app_days=30")
    url = reverse("tags:customer_tags", args=[customer.pk])
    response = client.post(url, {"tags": [auto.pk]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert (
        "App user is an automatic tag: its rule adds and removes it." in response.content.decode()
    )
    CustomerTag.objects.create(customer=customer, tag=auto, source="rule")
    response = client.post(url, {"remove": auto.pk}, follow=True)
    assert "is an automatic tag" in response.content.decode()
    assert CustomerTag.objects.filter(customer=customer, tag=auto).exists()
    page = client.get(customer.get_absolute_url()).content.decode()
    assert 'aria-label="Remove App user"' not in page  # no remove button on a rule's tag


def test_counts_refresh_after_a_change(staff_client):
    client = staff_client(ADMINISTRATOR)
    tag = TagFactory(name="VIP")
    client.get(reverse("tags:list"))  # cached: 0
    customer = CustomerFactory()
    client.post(reverse("tags:customer_tags", args=[customer.pk]), {"tags": [tag.pk]})
    assert f'?tags_any={tag.pk}">1</a>' in client.get(reverse("tags:list")).content.decode()


def bulk(client, **data):
    return client.post(reverse("tags:bulk"), {"confirmed": "yes", **data}, follow=True)


def test_bulk_tag_all_matching_is_set_based_idempotent_and_logged(staff_client):
    client = staff_client(MARKETING)
    vip = TagFactory(name="VIP")
    hue = CustomerFactory.create_batch(3, city="Huế")
    already = hue[0]
    CustomerTagFactory(customer=already, tag=vip, source="import")
    other = CustomerFactory(city="Vinh")
    page = client.post(
        reverse("tags:bulk"), {"query": "city=Huế", "scope": "all", "tags": [vip.pk]}
    ).content.decode()
    assert "Add these tags to 3 customers?" in page  # confirmation first, nothing done yet
    assert CustomerTag.objects.filter(tag=vip).count() == 1
    response = bulk(client, query="city=Huế", scope="all", tags=[vip.pk], tag_action="add")
    assert "Added VIP: 2 new assignments" in response.content.decode()
    response = bulk(client, query="city=Huế", scope="all", tags=[vip.pk], tag_action="add")
    assert "Added VIP: 0 new assignments" in response.content.decode()  # tagging twice: no change
    tagged = CustomerTag.objects.filter(tag=vip)
    assert sorted(tagged.values_list("customer_id", flat=True)) == sorted(c.pk for c in hue)
    assert tagged.get(customer=already).source == "import"  # provenance kept
    assert tagged.filter(source="manual", assigned_by__username="marketing").count() == 2
    assert not other.tag_links.exists()
    events = CustomerEvent.objects.filter(kind="tags", message="Added VIP")
    assert events.count() == 2 and not events.filter(customer=already).exists()


def test_bulk_tag_selected_rows_and_untag(staff_client):
    client = staff_client(CUSTOMER_CARE)
    vip, student = TagFactory(name="VIP"), TagFactory(name="Student")
    picked, skipped = CustomerFactory(), CustomerFactory()
    bulk(client, query="", scope="selected", ids=[picked.pk], tags=[vip.pk, student.pk])
    assert set(picked.tag_links.values_list("tag__name", flat=True)) == {"VIP", "Student"}
    assert not skipped.tag_links.exists()
    response = bulk(
        client, query="", scope="selected", ids=[picked.pk], tags=[vip.pk], tag_action="remove"
    )
    assert "Removed VIP: 1 assignment." in response.content.decode()
    assert list(picked.tag_links.values_list("tag__name", flat=True)) == ["Student"]
    assert CustomerEvent.objects.filter(customer=picked, message="Removed VIP").exists()


def test_bulk_tagging_explains_what_is_missing_or_refused(staff_client):
    client = staff_client(SALES)
    auto = TagFactory(name="App user", kind="automatic", rule="app_days=30")
    customer = CustomerFactory()
    response = bulk(client, query="", scope="selected", ids=[customer.pk])
    assert "Choose one or more tags." in response.content.decode()
    response = bulk(client, query="", scope="selected", tags=[auto.pk])
    assert "Select at least one customer" in response.content.decode()
    response = bulk(client, query="", scope="selected", ids=[customer.pk], tags=[auto.pk])
    assert "App user is an automatic tag" in response.content.decode()
    assert not CustomerTag.objects.exists()


def test_bulk_tagging_many_customers_runs_in_the_background(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.BULK_SYNC_ROW_LIMIT = 2
    client = staff_client(ADMINISTRATOR)
    vip = TagFactory(name="VIP")
    CustomerFactory.create_batch(3, city="Huế")
    with django_capture_on_commit_callbacks() as callbacks:
        response = bulk(client, query="city=Huế", scope="all", tags=[vip.pk], tag_action="add")
    assert "The change runs in the background" in response.content.decode()
    assert not CustomerTag.objects.exists()
    callbacks[0]()
    assert CustomerTag.objects.filter(tag=vip).count() == 3


def test_the_assign_picker_and_form_take_manual_tags_only(staff_client):
    from django.urls import reverse

    from loyalty_admin.roles import ADMINISTRATOR

    client = staff_client(ADMINISTRATOR)
    manual = TagFactory(name="Austin fans")
    TagFactory(name="Auto loyal", kind="automatic", rule="orders_min=5")
    options = client.get(reverse("customers:options", args=["manual-tags"]), {"q": "au"}).json()
    assert [row["text"] for row in options["results"]] == ["Austin fans"]
    every = client.get(reverse("customers:options", args=["tags"]), {"q": "au"}).json()
    assert len(every["results"]) == 2  # the filters still offer every tag
    customer = CustomerFactory()
    automatic = Tag.objects.get(name="Auto loyal")
    response = client.post(
        reverse("tags:customer_tags", args=[customer.pk]),
        {"tags": [automatic.pk]},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400  # the block comes back with the error, and is shown
    assert "Auto loyal is an automatic tag" in response.content.decode()
    assert not customer.tag_links.exists() and manual.pk


def test_a_tags_count_is_shared_by_every_process(staff_client, settings):
    """The count cache is the database's (one every web process and worker reads), and a new
    tag's count is there at once: saving or applying a tag forgets the cached counts."""
    from django.core.cache import caches

    assert settings.CACHES["default"]["BACKEND"].endswith("db.DatabaseCache")
    client = staff_client(ADMINISTRATOR)
    tag = TagFactory(name="VIP")
    client.get(reverse("tags:list"))  # counts cached
    CustomerTagFactory(tag=tag, customer=CustomerFactory())
    from tags.services import forget_counts

    forget_counts()  # what assigning through the services does
    other_process_cache = caches.create_connection("default")  # a cache object of its own
    assert other_process_cache.get("tags:counts") is None
    page = client.get(reverse("tags:list")).content.decode()
    assert f'?tags_any={tag.pk}">1</a>' in page


def test_a_tag_name_differing_only_in_accents_or_case_is_the_same_tag(admin_client):
    """The form and the import agree: "Khach" is the tag "Khách" (tags.services.name_key)."""
    from customers.search_text import name_key
    from tags.services import check_name

    TagFactory(name="Khách")
    assert name_key("  KHACH ") == name_key("Khách")
    with pytest.raises(ValidationError, match="already exists"):
        check_name("Khach")
