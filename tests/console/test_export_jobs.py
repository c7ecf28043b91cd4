"""Export jobs beyond the happy path: failure with its reason, retry, expiry and pruning."""

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from console import jobs
from customers.models import ExportJob
from loyalty_admin.roles import ADMINISTRATOR
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def queued_job(user, **kwargs):
    return jobs.create_export_job(
        user=user,
        query_string=kwargs.pop("query_string", ""),
        columns=kwargs.pop("columns", ["member_number", "email"]),
        file_format=kwargs.pop("file_format", "xlsx"),
    )


def test_crashed_job_is_marked_failed_with_its_reason_and_can_be_retried(
    media, django_capture_on_commit_callbacks
):
    user = make_staff(ADMINISTRATOR)
    CustomerFactory.create_batch(3)
    job = queued_job(user)
    # The columns were valid when queued; a later release removed one. The job must fail
    # cleanly, keep the reason, and succeed when retried with the problem fixed.
    ExportJob.objects.filter(pk=job.pk).update(columns=["member_number", "no_such_column"])
    failed = jobs.run_export_job(job.pk)
    assert failed.status == ExportJob.Status.FAILED
    assert "no_such_column" in failed.error
    assert not failed.file

    ExportJob.objects.filter(pk=job.pk).update(columns=["member_number", "email"])
    failed.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):  # the task is enqueued at commit
        failed.retry()
    done = ExportJob.objects.get(pk=job.pk)
    assert done.status == ExportJob.Status.DONE
    assert done.error == ""
    assert done.rows_done == 3
    sheet = openpyxl.load_workbook(done.file.path, read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 4


def test_only_failed_jobs_can_be_retried(media):
    job = queued_job(make_staff(ADMINISTRATOR))
    with pytest.raises(Exception, match="Only a failed export"):
        job.retry()


def test_retry_view_requeues_a_failed_job_and_shows_the_reason(
    client, media, django_capture_on_commit_callbacks
):
    user = make_staff(ADMINISTRATOR)
    client.force_login(user)
    CustomerFactory()
    job = queued_job(user)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.FAILED, error="OperationalError: disk full"
    )
    page = client.get(reverse("customers:export_detail", args=[job.pk])).content.decode()
    assert "disk full" in page
    assert reverse("customers:export_retry", args=[job.pk]) in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("customers:export_retry", args=[job.pk]), follow=True)
    job.refresh_from_db()
    assert job.status == ExportJob.Status.DONE  # the immediate backend ran it on commit
    assert "The export was queued again." in response.content.decode()


def test_expired_link_refuses_the_download_and_prune_deletes_the_file(client, media):
    user = make_staff(ADMINISTRATOR)
    client.force_login(user)
    CustomerFactory()
    job = jobs.run_export_job(queued_job(user).pk)
    path = job.file.path
    assert client.get(reverse("customers:export_download", args=[job.pk])).status_code == 200

    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    response = client.get(reverse("customers:export_download", args=[job.pk]), follow=True)
    assert "This download has expired" in response.content.decode()

    out = io.StringIO()
    call_command("prune_exports", stdout=out)
    assert "Deleted 1 expired export file(s)." in out.getvalue()
    job.refresh_from_db()
    assert not job.file
    assert not Path(path).exists()
    assert job.rows_done == 1  # the log row stays


def test_prune_leaves_live_links_alone(media):
    user = make_staff(ADMINISTRATOR)
    CustomerFactory()
    job = jobs.run_export_job(queued_job(user).pk)
    assert jobs.prune_expired_exports() == 0
    job.refresh_from_db()
    assert job.is_downloadable
