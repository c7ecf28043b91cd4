"""Every URL × every role: the expected allow / deny, decided explicitly per URL name."""

from datetime import time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from audiences.models import Audience, AudienceJob
from cards.services import activate, generate_batch
from console import jobs
from console.models import ScheduledExport, ScheduledExportRun
from console.schedules import download_token
from customers.models import BulkChange, ExportJob, SavedView
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, MARKETING, SALES
from migration.models import ImportJob
from ranks.models import RankRecalculation
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory, RankFactory, TagFactory
from tests.wholesale.factories import PDF_BYTES, WholesaleApplicationFactory
from wholesale.models import ApplicationDocument

pytestmark = pytest.mark.django_db

EVERYONE = {ADMINISTRATOR, SALES, MARKETING, CUSTOMER_CARE}
PUBLIC = "public"

# url name -> roles allowed (superuser always allowed), or PUBLIC for pages anyone may open.
# A new URL without an entry here fails test_every_url_has_a_decision.
DECISIONS = {
    "dashboard": EVERYONE,
    "login": PUBLIC,
    "logout": EVERYONE,
    "password_change": EVERYONE,
    "password_change_done": EVERYONE,
    "customers:list": EVERYONE,
    "customers:options": EVERYONE,
    "customers:detail": EVERYONE,
    "customers:create": {ADMINISTRATOR, SALES},
    "customers:update": {ADMINISTRATOR, SALES, CUSTOMER_CARE},
    "customers:delete": {ADMINISTRATOR},
    "customers:anonymise": {ADMINISTRATOR},
    "customers:restore": {ADMINISTRATOR},
    "customers:send_reset": {ADMINISTRATOR, CUSTOMER_CARE},
    "customers:personal_data": {ADMINISTRATOR, CUSTOMER_CARE},
    "customers:columns": EVERYONE,
    "customers:view_create": EVERYONE,
    "customers:view_open": EVERYONE,
    "customers:view_delete": EVERYONE,
    "customers:bulk_status": {ADMINISTRATOR, SALES},
    "customers:bulk_archive": {ADMINISTRATOR},
    "customers:export": {ADMINISTRATOR, SALES, MARKETING},
    "customers:exports": {ADMINISTRATOR, SALES, MARKETING},
    "customers:changes": EVERYONE,
    "customers:change_retry": EVERYONE,
    "customers:export_detail": {ADMINISTRATOR, SALES, MARKETING},
    "customers:export_download": {ADMINISTRATOR, SALES, MARKETING},
    "customers:export_retry": {ADMINISTRATOR, SALES, MARKETING},
    "customers_public:reset_password": PUBLIC,
    "ranks:overview": EVERYONE,
    "ranks:create": {ADMINISTRATOR},
    "ranks:update": {ADMINISTRATOR},
    "ranks:delete": {ADMINISTRATOR},
    "ranks:policy": {ADMINISTRATOR},
    "ranks:recalculate": {ADMINISTRATOR},
    "ranks:recalculation": EVERYONE,
    "ranks:recalculation_retry": {ADMINISTRATOR},
    "ranks:override": {ADMINISTRATOR, CUSTOMER_CARE},
    "ranks:override_end": {ADMINISTRATOR, CUSTOMER_CARE},
    "ranks:bulk_override": {ADMINISTRATOR, CUSTOMER_CARE},
    "tags:list": EVERYONE,
    "tags:create": {ADMINISTRATOR, MARKETING},
    "tags:update": {ADMINISTRATOR, MARKETING},
    "tags:delete": {ADMINISTRATOR, MARKETING},
    "tags:customer_tags": EVERYONE,
    "tags:bulk": EVERYONE,
    "tags:apply_rules": {ADMINISTRATOR, MARKETING},
    "tags:from_filter": {ADMINISTRATOR, MARKETING},
    "migration:list": {ADMINISTRATOR},
    "migration:upload": {ADMINISTRATOR},
    "migration:map": {ADMINISTRATOR},
    "migration:detail": {ADMINISTRATOR},
    "migration:run": {ADMINISTRATOR},
    "migration:retry": {ADMINISTRATOR},
    "migration:undo": {ADMINISTRATOR},
    "migration:error_file": {ADMINISTRATOR},
    "audiences:list": EVERYONE,
    "audiences:detail": EVERYONE,
    "audiences:job": EVERYONE,
    "audiences:job_errors": EVERYONE,
    "audiences:recount": EVERYONE,
    "audiences:create": {ADMINISTRATOR, MARKETING},
    "audiences:from_list": {ADMINISTRATOR, MARKETING},
    "audiences:update": {ADMINISTRATOR, MARKETING},
    "audiences:rule_from_list": {ADMINISTRATOR, MARKETING},
    "audiences:freeze": {ADMINISTRATOR, MARKETING},
    "audiences:archive": {ADMINISTRATOR, MARKETING},
    "audiences:pick": {ADMINISTRATOR, MARKETING},
    "audiences:file": {ADMINISTRATOR, MARKETING},
    "audiences:bulk": {ADMINISTRATOR, MARKETING},
    "audiences:job_retry": {ADMINISTRATOR, MARKETING},
    "audiences:delete": {ADMINISTRATOR, MARKETING},
    # Wholesale: Sales and Administrators decide; Marketing and Customer care look.
    "wholesale:list": EVERYONE,
    "wholesale:detail": EVERYONE,
    "wholesale:document": EVERYONE,
    "wholesale:create": {ADMINISTRATOR, SALES},
    "wholesale:bulk": {ADMINISTRATOR, SALES},
    "wholesale:assign": {ADMINISTRATOR, SALES},
    "wholesale:approve": {ADMINISTRATOR, SALES},
    "wholesale:reject": {ADMINISTRATOR, SALES},
    "wholesale:ask": {ADMINISTRATOR, SALES},
    "wholesale:resend": {ADMINISTRATOR, SALES},
    "wholesale:revoke": {ADMINISTRATOR, SALES},
    "wholesale:conditions": {ADMINISTRATOR},
    # Tourist cards: Customer care and Administrators work the counter.
    "cards:list": EVERYONE,
    "cards:detail": EVERYONE,
    "cards:batches": {ADMINISTRATOR},
    "cards:batch_import": {ADMINISTRATOR},
    "cards:batch": {ADMINISTRATOR},
    "cards:batch_print": {ADMINISTRATOR},
    "cards:batch_numbers": {ADMINISTRATOR},
    "cards:activate": {ADMINISTRATOR, CUSTOMER_CARE},
    "cards:activated": {ADMINISTRATOR, CUSTOMER_CARE},
    "cards:extend": {ADMINISTRATOR, CUSTOMER_CARE},
    "cards:void": {ADMINISTRATOR, CUSTOMER_CARE},
    "cards:replace": {ADMINISTRATOR, CUSTOMER_CARE},
    "cards:convert": {ADMINISTRATOR, CUSTOMER_CARE},
    "wholesale_public:apply": PUBLIC,
    "wholesale_public:done": PUBLIC,
    "wholesale_public:more": PUBLIC,
    "customers:access_log": {ADMINISTRATOR},
    "customers:export_log": {ADMINISTRATOR},
    # Scheduled exports: ops (Administrators) and Marketing; a run's file also needs the export
    # permission, and the emailed link opens for any signed-in staff who may export.
    "customers:schedules": {ADMINISTRATOR, MARKETING},
    "customers:schedule_create": {ADMINISTRATOR, MARKETING},
    "customers:schedule_detail": {ADMINISTRATOR, MARKETING},
    "customers:schedule_update": {ADMINISTRATOR, MARKETING},
    "customers:schedule_run": {ADMINISTRATOR, MARKETING},
    "customers:schedule_delete": {ADMINISTRATOR, MARKETING},
    "customers:schedule_run_download": {ADMINISTRATOR, MARKETING},
    "customers:schedule_download": {ADMINISTRATOR, SALES, MARKETING},
    # Staff accounts: Administrators only; the emailed password link's pages are public.
    "staff:list": {ADMINISTRATOR},
    "staff:create": {ADMINISTRATOR},
    "staff:detail": {ADMINISTRATOR},
    "staff:deactivate": {ADMINISTRATOR},
    "staff:activate": {ADMINISTRATOR},
    "staff:send_link": {ADMINISTRATOR},
    "staff_password_set": PUBLIC,
    "staff_password_done": PUBLIC,
}
# URLs that only take POST; GET must not change anything (405).
POST_ONLY = {
    "logout",
    "customers:schedule_run",
    "customers:restore",
    "customers:send_reset",
    "customers:personal_data",
    "customers:columns",
    "customers:view_create",
    "customers:view_open",
    "customers:view_delete",
    "customers:bulk_status",
    "customers:bulk_archive",
    "ranks:bulk_override",
    "customers:export_retry",
    "customers:change_retry",
    "ranks:recalculate",
    "ranks:recalculation_retry",
    "ranks:override",
    "ranks:override_end",
    "tags:customer_tags",
    "tags:bulk",
    "tags:apply_rules",
    "tags:from_filter",
    "migration:run",
    "migration:retry",
    "audiences:recount",
    "audiences:from_list",
    "audiences:rule_from_list",
    "audiences:freeze",
    "audiences:archive",
    "audiences:pick",
    "audiences:file",
    "audiences:bulk",
    "audiences:job_retry",
    "wholesale:bulk",
    "cards:batch_import",
    "staff:deactivate",
    "staff:activate",
    "staff:send_link",
    "wholesale:assign",
    "wholesale:approve",
    "wholesale:reject",
    "wholesale:ask",
    "wholesale:resend",
    "wholesale:revoke",
}


def project_url_names(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name == "admin":
                continue  # the Django admin site has its own is_staff gate, tested below
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from project_url_names(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            yield f"{namespace}{entry.name}"


def test_every_url_has_a_decision():
    assert set(project_url_names()) == set(DECISIONS)


@pytest.fixture
def objects(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    owner = make_staff("superuser", username="owner")
    customer = CustomerFactory()
    job = ExportJob.objects.create(created_by=None, columns=["email"])
    view = SavedView.objects.create(owner=owner, name="shared", is_shared=True)
    lower = RankFactory(level=1, threshold=0, is_default=True)
    rank = RankFactory(level=2, threshold=100)
    recalculation = RankRecalculation.objects.create(status="failed")
    change = BulkChange.objects.create(kind="archive", status="failed")
    import_job = ImportJob.objects.create(
        original_name="x.csv",
        file_format="csv",
        status="failed",
        dry_run=True,
        headers=["Old member ID"],
        encoding="utf-8",
        delimiter=",",
    )
    import_job.file.save("x.csv", ContentFile(b"Old member ID\nL1\n"))
    import_job.error_file.save("problems.xlsx", ContentFile(b"PK"))
    audience = Audience.objects.create(name="Hue", name_key="hue", rule="city=Hue")
    static = Audience.objects.create(name="List", name_key="list", kind="static")
    audience_job = AudienceJob.objects.create(audience=static, kind="file_add", status="failed")
    audience_job.error_file.save("unmatched.csv", ContentFile(b"Row,Value\n2,x\n"))
    application = WholesaleApplicationFactory()
    document = ApplicationDocument(
        application=application,
        kind="licence",
        stored_name="doc.pdf",
        original_name="licence.pdf",
        content_type="application/pdf",
        size=len(PDF_BYTES),
    )
    document.file.save("doc.pdf", ContentFile(PDF_BYTES), save=False)
    document.save()
    card_batch = generate_batch(
        name="Access", prefix="9709", size=1, validity_days=30, store=None, actor=None
    )
    card = activate(
        number=card_batch.cards.get().number,
        traveller={
            "passport_number": "A1234567",
            "nationality": "KR",
            "full_name": "LEE Ji-eun",
            "date_of_birth": None,
            "arrival": timezone.localdate(),
            "departure": timezone.localdate() + timedelta(days=3),
            "phone": "",
            "email": "",
        },
        store=None,
        actor=None,
    )
    colleague = get_user_model().objects.create_user(
        "colleague", email="colleague@example.vn", password="pw-colleague-1"
    )
    schedule = ScheduledExport.objects.create(
        name="Daily", columns=["email"], time_of_day=time(7), owner=owner
    )
    done = jobs.run_export_job(
        jobs.create_export_job(user=owner, query_string="", columns=["email"], file_format="csv").pk
    )
    run = ScheduledExportRun.objects.create(
        schedule=schedule, occurrence=timezone.now(), status="done", job=done
    )
    return {
        "schedule": schedule,
        "run": run,
        "colleague": colleague,
        "card": card,
        "card_batch": card_batch,
        "application": application,
        "document": document,
        "audience": audience,
        "static": static,
        "audience_job": audience_job,
        "customer": customer,
        "job": job,
        "view": view,
        "rank": rank,
        "lower": lower,
        "recalculation": recalculation,
        "change": change,
        "tag": TagFactory(),
        "import": import_job,
    }


def url_for(name, objects):
    args = []
    if name == "customers:schedule_run_download":
        args = [objects["schedule"].pk, objects["run"].pk]
    elif name == "customers:schedule_download":
        args = [download_token(objects["run"])]
    elif name.startswith("customers:schedule_") and name != "customers:schedule_create":
        args = [objects["schedule"].pk]
    elif (
        name.startswith("customers:export_") and name != "customers:export_log"
    ) or name == "customers:export_retry":
        args = [objects["job"].pk]
    elif name == "customers:change_retry":
        args = [objects["change"].pk]
    elif name.startswith("customers:view_") and name != "customers:view_create":
        args = [objects["view"].pk]
    elif name in {
        "customers:detail",
        "customers:update",
        "customers:delete",
        "customers:anonymise",
        "customers:restore",
        "customers:send_reset",
        "customers:personal_data",
    }:
        args = [objects["customer"].pk]
    elif name in {"ranks:update", "ranks:delete"}:
        args = [objects["rank"].pk]
    elif name.startswith("ranks:recalculation"):
        args = [objects["recalculation"].pk]
    elif name.startswith("ranks:override") or name == "tags:customer_tags":
        args = [objects["customer"].pk]
    elif name in {"tags:update", "tags:delete"}:
        args = [objects["tag"].pk]
    elif name.startswith("migration:") and name not in {"migration:list", "migration:upload"}:
        args = [objects["import"].pk]
    elif name.startswith("audiences:job"):
        args = [objects["audience_job"].pk]
    elif name in {"audiences:pick", "audiences:file"}:
        args = [objects["static"].pk]
    elif name.startswith("audiences:") and name not in {
        "audiences:list",
        "audiences:create",
        "audiences:from_list",
        "audiences:bulk",
    }:
        args = [objects["audience"].pk]
    elif name == "wholesale:document":
        args = [objects["document"].pk]
    elif name == "wholesale:revoke":
        args = [objects["customer"].pk]
    elif name.startswith("wholesale:") and name not in {
        "wholesale:list",
        "wholesale:create",
        "wholesale:bulk",
        "wholesale:conditions",
    }:
        args = [objects["application"].pk]
    elif name in {"cards:batch", "cards:batch_print", "cards:batch_numbers"}:
        args = [objects["card_batch"].pk]
    elif name.startswith("cards:") and name not in {
        "cards:list",
        "cards:batches",
        "cards:activate",
        "cards:batch_import",
    }:
        args = [objects["card"].pk]
    elif name.startswith("staff:") and name not in {"staff:list", "staff:create"}:
        args = [objects["colleague"].pk]
    elif name == "staff_password_set":
        args = ["MQ", "not-a-token"]
    elif name == "wholesale_public:more":
        args = ["not-a-token"]
    elif name == "customers:options":
        args = ["tags"]
    elif name == "customers_public:reset_password":
        args = ["not-a-token"]
    return reverse(name, args=args)


def outcome(client, name, url):
    response = client.post(url) if name in POST_ONLY else client.get(url)
    if response.status_code == 403:
        return "deny"
    if response.status_code == 302 and response.url.startswith(reverse("login")):
        return "login"
    # 400: a POST form refused for its (here empty) content, after the permission let it in.
    allowed = {200, 302, 410, 400} if name in POST_ONLY else {200, 302, 410}
    assert response.status_code in allowed, (name, response.status_code)
    return "allow"


@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_anonymous_is_sent_to_login_except_public_pages(client, objects, name):
    result = outcome(client, name, url_for(name, objects))
    if DECISIONS[name] == PUBLIC:
        assert result == "allow"
    elif name == "logout":
        assert result in {"allow", "login"}
    else:
        assert result == "login"


@pytest.mark.parametrize("role", [ADMINISTRATOR, SALES, MARKETING, CUSTOMER_CARE, "superuser"])
@pytest.mark.parametrize("name", sorted(DECISIONS))
def test_role_matrix(client, objects, role, name):
    user = make_staff(role)
    client.force_login(user)
    # Staff see their own exports; make the job this user's.
    ExportJob.objects.filter(pk=objects["job"].pk).update(created_by=user)
    BulkChange.objects.filter(pk=objects["change"].pk).update(created_by=user, status="failed")
    SavedView.objects.filter(pk=objects["view"].pk).update(owner=user)
    allowed = DECISIONS[name]
    if name in {"login", "logout"}:
        return  # signing in and out are open to all; covered by the auth tests
    result = outcome(client, name, url_for(name, objects))
    expected = "allow" if allowed == PUBLIC or role == "superuser" or role in allowed else "deny"
    assert result == expected, f"{role} on {name}"


def test_django_admin_site_needs_staff(client):
    client.force_login(make_staff(SALES))
    response = client.get("/django-admin/")
    assert response.status_code == 302
    assert "/django-admin/login/" in response.url


def test_staff_cannot_see_or_delete_what_others_own(client, objects):
    client.force_login(make_staff(MARKETING))
    assert client.get(url_for("customers:export_detail", objects)).status_code == 404
    assert client.post(url_for("customers:view_delete", objects)).status_code == 404
    assert client.post(url_for("customers:change_retry", objects)).status_code == 404
    assert SavedView.objects.filter(pk=objects["view"].pk).exists()


@pytest.mark.parametrize("role", sorted(EVERYONE))
def test_migrate_leaves_each_role_with_exactly_its_permissions(role):
    from django.contrib.auth.models import Group

    from loyalty_admin.roles import role_permissions

    held = set(Group.objects.get(name=role).permissions.values_list("pk", flat=True))
    assert held == set(role_permissions(role).values_list("pk", flat=True))
    assert held  # and the list is not empty


@pytest.mark.parametrize(
    "name",
    ["customers:delete", "customers:anonymise", "ranks:update", "ranks:delete"],
)
def test_a_refused_page_does_not_tell_whether_the_object_exists(client, name):
    client.force_login(make_staff(MARKETING))  # holds none of these permissions
    missing = client.get(reverse(name, args=[999_999]))
    assert missing.status_code == 403


def test_a_non_numeric_tag_to_remove_is_not_found(client, objects):
    client.force_login(make_staff(ADMINISTRATOR))
    url = reverse("tags:customer_tags", args=[objects["customer"].pk])
    assert client.post(url, {"remove": "abc"}).status_code == 404
