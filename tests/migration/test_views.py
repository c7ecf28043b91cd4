"""The wizard through the test client: upload → map → dry run → run → report → undo."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from customers.models import Customer
from migration import jobs as jobs_module
from migration.models import ImportJob, MappingProfile
from tests.customers.factories import CustomerFactory
from tests.loyalty_admin.test_query_counts import BASE
from tests.migration.conftest import csv_bytes

pytestmark = pytest.mark.django_db

ROWS = [
    ["Mã thành viên cũ", "Họ tên", "Số điện thoại", "Ghi chú"],
    ["L1", "Nguyễn Văn An", "0912345678", "x"],
    ["L2", "Trần Bình", "0912345679", "y"],
    ["L3", "Lê Chi", "not a phone", "z"],
]


def uploaded(rows=ROWS, name="legacy.csv"):
    return SimpleUploadedFile(name, csv_bytes(rows), content_type="text/csv")


def test_wizard_end_to_end(admin_client, django_capture_on_commit_callbacks):
    response = admin_client.post(reverse("migration:upload"), {"file": uploaded()})
    job = ImportJob.objects.get()
    assert response.url == reverse("migration:map", args=[job.pk])

    page = admin_client.get(response.url).content.decode()
    assert 'value="old_member_id" selected' in page and 'value="full_name" selected' in page
    assert "Nguyễn Văn An" in page  # sample values shown next to each column

    data = {
        "col_0": "old_member_id",
        "col_1": "full_name",
        "col_2": "phone",
        "col_3": "",
        "match_key": "old_member_id",
        "policy": "skip_invalid",
        "save_profile": "Legacy POS",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("migration:map", args=[job.pk]), data)
    assert response.url == reverse("migration:detail", args=[job.pk])
    job.refresh_from_db()
    assert job.dry_run and job.status == "done"
    assert (job.created_count, job.failed_count) == (2, 1)
    assert not Customer.objects.exists()
    assert MappingProfile.objects.get().mapping == {
        "Mã thành viên cũ": "old_member_id",
        "Họ tên": "full_name",
        "Số điện thoại": "phone",
    }

    page = admin_client.get(response.url).content.decode()
    assert 'data-testid="import-preview"' in page, page[page.find("<main") :][:3000]
    assert "“not a phone” is not a phone number" in page
    assert "Import, skipping 1 invalid row" in page
    assert "Column “Ghi chú” is not mapped; it was ignored." in page
    problems = admin_client.get(reverse("migration:error_file", args=[job.pk]))
    assert problems["Content-Disposition"].startswith("attachment")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("migration:run", args=[job.pk]))
    real = ImportJob.objects.exclude(pk=job.pk).get()
    assert response.url == reverse("migration:detail", args=[real.pk])
    real.refresh_from_db()
    assert (real.status, real.created_count, real.dry_run) == ("done", 2, False)
    assert sorted(Customer.objects.values_list("old_member_id", flat=True)) == ["L1", "L2"]
    page = admin_client.get(response.url).content.decode()
    assert 'data-testid="undo-import"' in page
    dry_page = admin_client.get(reverse("migration:detail", args=[job.pk])).content.decode()
    assert f"Imported as import {real.pk}" in dry_page and "run-import" not in dry_page
    again = admin_client.post(reverse("migration:run", args=[job.pk]), follow=True)
    assert f"already imported as import {real.pk}" in again.content.decode()
    assert ImportJob.objects.filter(dry_run=False).count() == 1

    confirm = admin_client.get(reverse("migration:undo", args=[real.pk])).content.decode()
    assert "Deletes the 2 customers the import created." in confirm
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("migration:undo", args=[real.pk]))
    real.refresh_from_db()
    assert real.status == "undone" and not Customer.objects.exists()

    history = admin_client.get(reverse("migration:list")).content.decode()
    assert "legacy.csv" in history and "Undone" in history and "Dry run" in history


def test_a_rejected_upload_says_why(admin_client):
    response = admin_client.post(
        reverse("migration:upload"),
        {"file": SimpleUploadedFile("data.xlsx", b"a,b\n1,2\n"), "encoding": "cp1258"},
    )
    assert response.status_code == 400
    assert "is not an Excel workbook" in response.content.decode()
    assert 'value="cp1258" selected' in response.content.decode()  # what was chosen stays
    assert not ImportJob.objects.exists()


def test_mapping_errors_keep_what_was_chosen(admin_client):
    admin_client.post(reverse("migration:upload"), {"file": uploaded()})
    job = ImportJob.objects.get()
    data = {
        "col_0": "email",
        "col_1": "email",
        "col_2": "phone",
        "match_key": "old_member_id",
        "policy": "all_or_nothing",
    }
    response = admin_client.post(reverse("migration:map", args=[job.pk]), data)
    page = response.content.decode()
    assert response.status_code == 400
    assert "are both mapped to Email" in page and "Map a column to Old member ID" in page
    assert 'value="phone" selected' in page
    job.refresh_from_db()
    assert job.status == "draft"


def test_a_saved_profile_is_applied_by_header(admin_client):
    MappingProfile.objects.create(
        name="POS", mapping={"Số điện thoại": "phone", "Ghi chú": "city"}, match_key="phone"
    )
    admin_client.post(reverse("migration:upload"), {"file": uploaded()})
    job = ImportJob.objects.get()
    profile = MappingProfile.objects.get()
    page = admin_client.get(
        reverse("migration:map", args=[job.pk]), {"profile": profile.pk}
    ).content.decode()
    assert 'name="col_3"' in page and 'value="city" selected' in page
    assert 'value="phone" selected' in page


def test_progress_block_is_served_alone_to_htmx(admin_client):
    job = ImportJob.objects.create(
        original_name="x.csv", file_format="csv", status="running", total_rows=1000, rows_done=250
    )
    response = admin_client.get(
        reverse("migration:detail", args=[job.pk]), headers={"HX-Request": "true"}
    )
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="import-status"')
    assert "250" in page and "1,000" in page and 'hx-trigger="every 1s"' in page


def test_undo_refusal_is_shown_and_force_is_offered(
    admin_client, import_file, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(old_member_id="L1", city="Huế")
    job = import_file([["Old member ID", "City"], ["L1", "Vinh"]])
    Customer.objects.filter(pk=customer.pk).update(updated_at=job.finished_at.replace(year=2099))
    page = admin_client.get(reverse("migration:undo", args=[job.pk])).content.decode()
    assert "changed by someone else after the import" in page and 'name="force"' in page
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("migration:undo", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done" and "changed by someone else" in job.undo_error
    assert "The undo did not run" in admin_client.get(job.get_absolute_url()).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("migration:undo", args=[job.pk]), {"force": "on"})
    job.refresh_from_db()
    customer.refresh_from_db()
    assert job.status == "undone" and job.undo_forced and customer.city == "Huế"


def test_history_list_query_count_is_fixed(admin_client, django_assert_num_queries, admin_user):
    for n in range(30):
        ImportJob.objects.create(
            original_name=f"f{n}.csv", file_format="csv", status="done", created_by=admin_user
        )
    # The signed-in page's fixed queries, the page count and the page of jobs with their users
    # (a running job's stall is read from what the page holds: no query, and no write).
    with django_assert_num_queries(BASE + 2):
        response = admin_client.get(reverse("migration:list"))
    assert response.status_code == 200


def test_an_import_whose_worker_died_is_marked_failed_and_can_be_retried(admin_client):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    dead = ImportJob.objects.create(
        original_name="x.csv",
        file_format="csv",
        status="running",
        heartbeat_at=now - timedelta(minutes=16),
    )
    alive = ImportJob.objects.create(
        original_name="y.csv",
        file_format="csv",
        status="running",
        heartbeat_at=now - timedelta(minutes=2),
    )
    page = admin_client.get(reverse("migration:detail", args=[dead.pk])).content.decode()
    assert "The worker stopped reporting progress" in page and "Retry" in page
    assert "Stalled" in admin_client.get(reverse("migration:list")).content.decode()
    dead.refresh_from_db()
    assert dead.status == "running"  # a GET only reads
    # Starting any import (or retrying this one) marks it failed, with the reason.
    assert jobs_module.fail_stalled() == 1
    dead.refresh_from_db()
    alive.refresh_from_db()
    assert (dead.status, alive.status) == ("failed", "running")
    assert "stopped reporting progress for 15 minutes" in dead.error


def test_a_stalled_import_is_retried_from_its_page(
    admin_client, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    admin_client.post(reverse("migration:upload"), {"file": uploaded()})
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(
        status="running",
        mapping={"0": "old_member_id"},
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    response = admin_client.post(reverse("migration:retry", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.QUEUED


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite publishes progress to a file")
def test_on_sqlite_a_running_import_shows_its_published_progress_and_is_not_stalled(
    admin_client,
):
    from datetime import timedelta

    from django.utils import timezone

    from migration import progress

    job = ImportJob.objects.create(
        original_name="x.csv",
        file_format="csv",
        status="running",
        total_rows=1000,
        started_at=timezone.now() - timedelta(minutes=30),
        heartbeat_at=timezone.now() - timedelta(minutes=30),  # the row cannot move during a run
    )
    progress.publish(job.pk, 400)  # the worker's latest batch, just now
    page = admin_client.get(reverse("migration:detail", args=[job.pk])).content.decode()
    assert 'value="40"' in page and "400" in page  # the bar and the count
    job.refresh_from_db()
    assert job.status == "running"
    listing = admin_client.get(reverse("migration:list")).content.decode()
    assert ">400<" in listing


def test_a_failed_import_is_retried_from_its_page_and_a_finished_one_is_not(
    admin_client, import_file, django_capture_on_commit_callbacks
):
    job = import_file([["Old member ID", "Email"], ["L1", "a@example.com"]])
    Customer.objects.all().delete()
    ImportJob.objects.filter(pk=job.pk).update(status="failed", error="OperationalError: gone")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("migration:retry", args=[job.pk]), follow=True)
    assert "The import was queued again." in response.content.decode()
    job.refresh_from_db()
    assert (job.status, job.error, job.created_count) == ("done", "", 1)
    refused = admin_client.post(reverse("migration:retry", args=[job.pk]), follow=True)
    assert "Only a failed import can be retried." in refused.content.decode()
