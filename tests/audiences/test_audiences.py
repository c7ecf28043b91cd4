"""Audiences: the two kinds end to end, the audience criterion, freezing, members from the list
and from files, and the refusals."""

from datetime import date

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse

from audiences import services
from audiences.models import Audience, AudienceChange, AudienceJob, AudienceMember
from customers.models import BulkChange, Customer
from customers.selectors import customers_matching
from loyalty_admin.roles import ADMINISTRATOR, MARKETING, SALES
from tags import services as tag_services
from tags.models import CustomerTag, Tag
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def ids(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.fixture
def hue():
    """Three customers in Huế (one inactive), two in Vinh."""
    return {
        "hue": [
            *CustomerFactory.create_batch(2, city="Huế"),
            CustomerFactory(city="Huế", status="inactive"),
        ],
        "vinh": CustomerFactory.create_batch(2, city="Vinh"),
    }


def add_member(audience, customer):
    AudienceMember.objects.create(audience=audience, customer=customer, added_at=customer.joined_at)


def save_from_list(client, query, name, kind="dynamic"):
    return client.post(
        reverse("audiences:from_list"), {"query": query, "name": name, "kind": kind}, follow=True
    )


def test_a_dynamic_audience_follows_its_rule(staff_client, hue):
    client = staff_client(MARKETING)
    response = save_from_list(client, "city=Huế", "Huế members")
    audience = Audience.objects.get()
    assert response.redirect_chain[-1][0] == audience.get_absolute_url()
    assert (audience.kind, audience.rule, audience.owner.username) == (
        "dynamic",
        "city=Huế",
        "marketing",
    )
    assert audience.size == 3 and audience.counted_at is not None
    assert "Audience “Huế members” saved." in response.content.decode()
    newcomer = CustomerFactory(city="Huế")
    listed = client.get(reverse("customers:list"), {"audience": audience.pk})
    assert newcomer.member_number in listed.content.decode()  # whoever matches now
    assert ids(customers_matching(audience.list_query)) == {c.pk for c in hue["hue"]} | {
        newcomer.pk
    }


def test_a_static_snapshot_keeps_who_matched(staff_client, hue):
    client = staff_client(MARKETING)
    save_from_list(client, "city=Huế", "Huế on 1 Dec", kind="static")
    audience = Audience.objects.get()
    assert audience.kind == "static" and audience.frozen_at is not None
    assert audience.rule == "city=Huế"  # the snapshot records its rule and time
    members = AudienceMember.objects.filter(audience=audience)
    assert {m.customer_id for m in members} == {c.pk for c in hue["hue"]}
    assert {m.source for m in members} == {"snapshot"}
    CustomerFactory(city="Huế")
    assert ids(customers_matching(audience.list_query)) == {c.pk for c in hue["hue"]}
    job = AudienceJob.objects.get()
    assert (job.kind, job.status, job.outcome) == ("snapshot", "done", {"added": 3})


def test_a_large_snapshot_runs_as_a_job_with_progress(
    staff_client, hue, settings, django_capture_on_commit_callbacks
):
    settings.BULK_SYNC_ROW_LIMIT = 1
    client = staff_client(MARKETING)
    with django_capture_on_commit_callbacks(execute=True):
        response = save_from_list(client, "city=Huế", "Big", kind="static")
    assert "The snapshot runs in the background" in response.content.decode()
    job = AudienceJob.objects.get()
    assert job.status == "done" and job.percent == 100
    assert AudienceMember.objects.filter(audience=job.audience).count() == 3
    page = client.get(reverse("audiences:job", args=[job.pk])).content.decode()
    assert "3 members added." in page


def test_the_audience_criterion_alone_and_combined(hue):
    static = Audience.objects.create(name="S", name_key="s", kind="static")
    for customer in [hue["hue"][0], hue["vinh"][0]]:
        AudienceMember.objects.create(
            audience=static, customer=customer, added_at=customer.joined_at
        )
    dynamic = Audience.objects.create(name="D", name_key="d", rule="city=Huế&status=active")
    assert ids(customers_matching(f"audience={static.pk}")) == {
        hue["hue"][0].pk,
        hue["vinh"][0].pk,
    }
    assert ids(customers_matching(f"audience={dynamic.pk}")) == {c.pk for c in hue["hue"][:2]}
    both = customers_matching(f"audience={static.pk}&audience={dynamic.pk}")
    assert ids(both) == {hue["hue"][0].pk}
    assert ids(customers_matching(f"audience={static.pk}&city=Vinh")) == {hue["vinh"][0].pk}
    assert ids(customers_matching(f"not_audience={dynamic.pk}")) == {
        hue["hue"][2].pk,
        *(c.pk for c in hue["vinh"]),
    }
    # A dynamic audience may name another one in its rule.
    nested = Audience.objects.create(
        name="N", name_key="n", rule=f"audience={dynamic.pk}&not_audience={static.pk}"
    )
    assert ids(customers_matching(nested.list_query)) == {hue["hue"][1].pk}


def test_an_automatic_tag_and_a_bulk_action_use_the_audience(staff_client, hue):
    audience = Audience.objects.create(name="D", name_key="d", rule="city=Vinh")
    tag = Tag.objects.create(name="Vinh", slug="vinh", kind="automatic", rule=audience.list_query)
    assert tag_services.apply_rule(tag) == (2, 0)
    assert {link.customer_id for link in CustomerTag.objects.filter(tag=tag)} == {
        c.pk for c in hue["vinh"]
    }
    client = staff_client(ADMINISTRATOR)
    client.post(
        reverse("customers:bulk_status"),
        {"scope": "all", "query": audience.list_query, "confirmed": "yes", "status": "blocked"},
    )
    assert ids(Customer.objects.filter(status="blocked")) == {c.pk for c in hue["vinh"]}


def test_opening_an_audience_in_the_list_pages_and_sorts_its_members(staff_client, hue, settings):
    settings.LIST_PER_PAGE = 2
    audience = Audience.objects.create(name="D", name_key="d", rule="city=Huế")
    client = staff_client(SALES)
    page = client.get(reverse("customers:list"), {"audience": audience.pk, "sort": "name"})
    body = page.content.decode()
    assert "In the audiences (all)" in body and "D" in body  # the chip names it
    assert page.status_code == 200


def test_bulk_add_and_remove_on_ticked_rows_and_all_matching(staff_client, hue):
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    client = staff_client(MARKETING)
    ticked = [hue["hue"][0].pk, hue["vinh"][1].pk]
    data = {"scope": "selected", "ids": ticked, "query": "", "audience": audience.pk}
    confirm = client.post(reverse("audiences:bulk"), {**data, "audience_action": "add"})
    assert "Add 2 customers to “S”?" in confirm.content.decode()
    response = client.post(
        reverse("audiences:bulk"),
        {**data, "audience_action": "add", "confirmed": "yes"},
        follow=True,
    )
    assert "2 customers added to “S”." in response.content.decode()
    assert {m.customer_id for m in audience.members.all()} == set(ticked)
    assert {m.source for m in audience.members.all()} == {"bulk"}
    everyone_in_hue = {
        "scope": "all",
        "query": "city=Huế",
        "audience": audience.pk,
        "confirmed": "yes",
    }
    client.post(reverse("audiences:bulk"), {**everyone_in_hue, "audience_action": "add"})
    assert audience.members.count() == 4  # the one already in was not added twice
    client.post(reverse("audiences:bulk"), {**everyone_in_hue, "audience_action": "remove"})
    assert {m.customer_id for m in audience.members.all()} == {hue["vinh"][1].pk}
    assert list(audience.changes.values_list("action", flat=True)) == [
        "removed",
        "added",
        "added",
    ]


def test_bulk_membership_in_the_background(
    staff_client, hue, settings, django_capture_on_commit_callbacks
):
    settings.BULK_SYNC_ROW_LIMIT = 1
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    client = staff_client(MARKETING)
    data = {"scope": "all", "query": "city=Vinh", "audience": audience.pk, "confirmed": "yes"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("audiences:bulk"), {**data, "audience_action": "add"})
    change = BulkChange.objects.get()
    assert (change.kind, change.status, change.rows_done) == ("aud_add", "done", 2)
    assert audience.members.count() == 2


def test_a_dynamic_audience_cannot_take_members_by_hand(hue):
    dynamic = Audience.objects.create(name="D", name_key="d", rule="city=Vinh")
    with pytest.raises(ValidationError, match="is dynamic"):
        services.add_members(audience=dynamic, queryset=Customer.objects.all(), actor=None)


def test_pick_members_by_identifier(staff_client):
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    one = CustomerFactory(phone="+84912345678")
    two = CustomerFactory()
    client = staff_client(MARKETING)
    response = client.post(
        reverse("audiences:pick", args=[audience.pk]),
        {"identifiers": f"0912 345 678\n{two.email.upper()}\nNOPE-1\n"},
        follow=True,
    )
    body = response.content.decode()
    assert "2 customers added." in body and "No customer found for: NOPE-1" in body
    assert {m.customer_id for m in audience.members.all()} == {one.pk, two.pk}
    assert {m.source for m in audience.members.all()} == {"manual"}


# Freeze ---------------------------------------------------------------------------------------


def test_freeze_now_keeps_the_members_and_the_rule(staff_client, hue):
    audience = Audience.objects.create(name="D", name_key="d", rule="city=Vinh")
    client = staff_client(MARKETING)
    with time_machine.travel("2026-12-01 09:00 +07:00", tick=False):
        response = client.post(reverse("audiences:freeze", args=[audience.pk]), follow=True)
    assert "“D” is now a static snapshot." in response.content.decode()
    audience.refresh_from_db()
    assert audience.kind == "static" and audience.rule == "city=Vinh"
    assert audience.frozen_at.isoformat() == "2026-12-01T02:00:00+00:00"
    CustomerFactory(city="Vinh")
    assert ids(customers_matching(audience.list_query)) == {c.pk for c in hue["vinh"]}
    assert audience.changes.first().action == AudienceChange.Action.FROZEN
    again = client.post(reverse("audiences:freeze", args=[audience.pk]), follow=True)
    assert "“D” is already static." in again.content.decode()


def test_freeze_by_date_with_the_daily_command(hue):
    due = Audience.objects.create(
        name="Due", name_key="due", rule="city=Vinh", freeze_on=date(2026, 12, 3)
    )
    later = Audience.objects.create(
        name="Later", name_key="later", rule="city=Vinh", freeze_on=date(2026, 12, 4)
    )
    with time_machine.travel("2026-12-03 01:00 +07:00", tick=False):
        call_command("freeze_audiences")
    due.refresh_from_db(), later.refresh_from_db()
    assert due.kind == "static" and due.freeze_on is None and due.members.count() == 2
    assert later.kind == "dynamic" and later.members.count() == 0


def test_two_freezes_at_once_take_one_snapshot(hue, settings, django_capture_on_commit_callbacks):
    settings.BULK_SYNC_ROW_LIMIT = 1  # the first freeze waits for the worker
    audience = Audience.objects.create(name="D", name_key="d", rule="city=Vinh")
    first_user, second_user = make_staff(MARKETING), make_staff(ADMINISTRATOR)
    first = services.start_snapshot(audience=audience, kind="freeze", actor=first_user)
    assert first.status == "queued"
    with pytest.raises(ValidationError, match="marketing is already taking a snapshot of “D”"):
        services.start_snapshot(audience=audience, kind="freeze", actor=second_user)
    assert AudienceJob.objects.count() == 1


# Files of identifiers -------------------------------------------------------------------------


def test_a_file_adds_members_counting_duplicates_and_returning_the_unmatched(
    staff_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    a = CustomerFactory(member_number="M1")
    b = CustomerFactory(phone="+84912000111")
    c = CustomerFactory(old_member_id="OLD-7")
    AudienceMember.objects.create(audience=audience, customer=c, added_at=c.joined_at)
    content = "Who\nM1\n0912 000 111\nold-7\nOLD-7\nM1\nnobody@example.com\n=HYPERLINK()\n"
    upload = _upload("members.csv", content.encode())
    client = staff_client(MARKETING)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("audiences:file", args=[audience.pk]), {"file": upload, "action": "add"}
        )
    job = AudienceJob.objects.get()
    assert response.url == reverse("audiences:job", args=[job.pk])
    assert job.status == "done", job.error
    # "old-7" is no old member ID ("OLD-7" is): identifiers match exactly.
    assert job.outcome == {
        "lines": 7,
        "matched": 3,
        "changed": 2,
        "unchanged": 1,
        "duplicates": 1,
        "unmatched": 3,
    }
    assert {m.customer_id for m in audience.members.all()} == {a.pk, b.pk, c.pk}
    assert not job.upload and not list((tmp_path / "audiences" / "uploads").iterdir())
    errors = client.get(reverse("audiences:job_errors", args=[job.pk]))
    lines = b"".join(errors.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "Row,Value,Problem"
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["4", "old-7"],
        ["7", "nobody@example.com"],
        ["8", "'=HYPERLINK()"],
    ]


def test_a_file_removes_members_from_an_excel_sheet(
    staff_client, settings, tmp_path, django_capture_on_commit_callbacks
):
    from tests.migration.conftest import xlsx_bytes

    settings.MEDIA_ROOT = tmp_path
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    members = CustomerFactory.create_batch(3)
    for customer in members:
        AudienceMember.objects.create(
            audience=audience, customer=customer, added_at=customer.joined_at
        )
    data = xlsx_bytes([["Email"], [members[0].email], [members[1].email]])
    client = staff_client(MARKETING)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("audiences:file", args=[audience.pk]),
            {"file": _upload("out.xlsx", data), "action": "remove"},
        )
    job = AudienceJob.objects.get()
    assert job.kind == "file_del" and job.outcome["changed"] == 2
    assert {m.customer_id for m in audience.members.all()} == {members[2].pk}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "The submitted file is empty."),
        ("header.csv", b"Member\n", "only its header row"),
        ("fake.xlsx", b"Member\nM1\n", "not an Excel workbook"),
        ("binary.csv", b"\x00\x01\x02\xff\xfe\x00junk" * 50, "This is not a text file."),
    ],
)
def test_a_bad_file_is_refused_with_the_reason(
    staff_client, settings, tmp_path, name, content, message
):
    settings.MEDIA_ROOT = tmp_path
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    client = staff_client(MARKETING)
    response = client.post(
        reverse("audiences:file", args=[audience.pk]),
        {"file": _upload(name, content), "action": "add"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AudienceJob.objects.exists()
    assert not list(tmp_path.rglob("*.*"))  # the refused upload is not kept


def test_a_file_over_the_size_cap_is_refused(staff_client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.IMPORT_MAX_UPLOAD_MB = 0
    audience = Audience.objects.create(name="S", name_key="s", kind="static")
    response = staff_client(MARKETING).post(
        reverse("audiences:file", args=[audience.pk]),
        {"file": _upload("m.csv", b"Member\nM1\n"), "action": "add"},
    )
    assert response.status_code == 400
    assert "The file is larger than 0 MB." in response.content.decode()


def _upload(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


# Refusals -------------------------------------------------------------------------------------


def test_an_invalid_rule_is_refused_with_the_reason_per_criterion(staff_client):
    client = staff_client(MARKETING)
    response = client.post(
        reverse("audiences:create"),
        {"name": "Bad", "kind": "dynamic", "rule": "points_min=abc&status=zombie"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Points balance: " in body and "Status: " in body
    assert 'value="Bad"' in body and "points_min=abc&amp;status=zombie" in body
    assert not Audience.objects.exists()


def test_a_rule_that_selects_everyone_needs_confirmation(staff_client, hue):
    client = staff_client(MARKETING)
    response = save_from_list(client, "", "Everyone")
    assert response.status_code == 400
    body = response.content.decode()
    assert "This rule selects every customer. Confirm" in body
    assert 'type="checkbox" name="everyone"' in body and 'value="Everyone"' in body
    assert not Audience.objects.exists()
    client.post(
        reverse("audiences:create"),
        {"name": "Everyone", "kind": "dynamic", "rule": "", "everyone": "on"},
    )
    assert Audience.objects.get().size == 5


def test_a_duplicate_name_is_refused_regardless_of_case_and_accents(staff_client):
    Audience.objects.create(name="Khách Huế", name_key="khach hue", rule="city=Hue")
    client = staff_client(MARKETING)
    response = client.post(
        reverse("audiences:create"),
        {"name": "  KHACH   hue ", "kind": "dynamic", "rule": "city=Vinh", "description": "typed"},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "An audience named “Khách Huế” already exists." in body
    assert 'value="  KHACH   hue "' in body and "typed" in body
    response = save_from_list(client, "city=Vinh", "khách HUẾ", kind="static")
    assert "An audience named “Khách Huế” already exists." in response.content.decode()
    assert Audience.objects.count() == 1


def test_a_rule_naming_itself_is_refused(staff_client):
    a = Audience.objects.create(name="A", name_key="a", rule="city=Hue")
    b = Audience.objects.create(name="B", name_key="b", rule=f"audience={a.pk}")
    a.rule = f"audience={b.pk}"
    with pytest.raises(ValidationError, match="names this audience itself"):
        services.save_audience(audience=a, actor=None)


def test_deleting_an_audience_in_use_is_refused_and_names_the_users(staff_client):
    audience = Audience.objects.create(name="A", name_key="a", rule="city=Hue")
    Tag.objects.create(
        name="Hue fans", slug="hue", kind="automatic", rule=f"audience={audience.pk}"
    )
    Audience.objects.create(name="B", name_key="b", rule=f"not_audience={audience.pk}&city=Vinh")
    client = staff_client(MARKETING)
    page = client.get(reverse("audiences:delete", args=[audience.pk])).content.decode()
    assert "automatic tag “Hue fans”" in page and "audience “B”" in page
    response = client.post(reverse("audiences:delete", args=[audience.pk]), follow=True)
    assert "cannot be deleted: automatic tag “Hue fans”, audience “B” use it" in (
        response.content.decode()
    )
    assert Audience.objects.filter(pk=audience.pk).exists()
    free = Audience.objects.create(name="C", name_key="c", rule="city=Hue")
    client.post(reverse("audiences:delete", args=[free.pk]))
    assert not Audience.objects.filter(pk=free.pk).exists()


def test_sales_may_view_but_not_change(staff_client):
    audience = Audience.objects.create(name="A", name_key="a", rule="city=Hue")
    client = staff_client(SALES)
    page = client.get(audience.get_absolute_url()).content.decode()
    assert reverse("audiences:update", args=[audience.pk]) not in page
    assert client.post(reverse("audiences:freeze", args=[audience.pk])).status_code == 403
