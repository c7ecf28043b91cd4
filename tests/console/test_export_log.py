"""The export log: every export with who, the filter in words, columns, rows, file size,
duration and each download; a page for administrators with filters."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from console import jobs
from customers.models import ExportDownload, ExportJob
from loyalty_admin.roles import ADMINISTRATOR, MARKETING, SALES
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
LOG = reverse("customers:export_log")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def export(client, file_format, columns=("member_number", "city")):
    return client.post(
        reverse("customers:export"),
        {
            "query": "city=Huế",
            "scope": "all",
            "file_format": file_format,
            "columns": list(columns),
            "submitted": "1",
        },
    )


def test_a_web_export_is_logged_with_its_size_duration_and_download(staff_client):
    CustomerFactory.create_batch(2, city="Huế")
    response = export(staff_client(MARKETING), "xlsx")
    job = ExportJob.objects.get()
    assert job.file_size == len(b"".join(response.streaming_content)) > 0
    assert job.started_at and job.finished_at
    download = ExportDownload.objects.get()
    assert (download.job, download.user.username) == (job, "marketing")


def test_a_streamed_csv_records_the_bytes_sent_and_its_download(staff_client):
    CustomerFactory(city="Huế")
    response = export(staff_client(SALES), "csv")
    sent = b"".join(response.streaming_content)
    job = ExportJob.objects.get()
    assert job.file_size == len(sent) and job.rows_done == 1
    assert ExportDownload.objects.get().user.username == "sales"


def test_every_later_download_is_on_the_log(client):
    user = make_staff(ADMINISTRATOR)
    client.force_login(user)
    CustomerFactory()
    job = jobs.run_export_job(
        jobs.create_export_job(
            user=user, query_string="", columns=["member_number"], file_format="xlsx"
        ).pk
    )
    client.get(reverse("customers:export_download", args=[job.pk]))
    client.get(reverse("customers:export_download", args=[job.pk]))
    assert job.downloads.count() == 2


def test_administrators_read_the_log_with_command_exports_and_filters(staff_client, tmp_path):
    CustomerFactory(city="Huế")
    export(staff_client(MARKETING), "xlsx")
    call_command("export_customers", "--output", str(tmp_path / "all.csv"), "--columns", "email")
    client = staff_client(ADMINISTRATOR)
    page = client.get(LOG).content.decode()
    assert "City: Huế" in page or "Huế" in page
    assert "Member number, City (Excel (.xlsx))" in page
    assert "marketing ·" in page  # the download: who and when
    assert "command" in page
    only_commands = client.get(LOG, {"via": "command"}).content.decode()
    assert "Member number, City" not in only_commands and "Email (CSV)" in only_commands
    by_staff = client.get(LOG, {"staff": "marketing"}).content.decode()
    assert "Email (CSV)" not in by_staff


@pytest.mark.parametrize("role", [SALES, MARKETING])
def test_only_administrators_read_the_export_log(staff_client, role):
    assert staff_client(role).get(LOG).status_code == 403


def test_an_export_over_the_row_cap_is_refused_with_its_count(staff_client, settings):
    settings.EXPORT_MAX_ROWS = 2
    CustomerFactory.create_batch(3, city="Huế")
    response = export(staff_client(MARKETING), "xlsx")
    body = response.content.decode()
    assert response.status_code == 400
    assert "This export would hold 3 rows; at most 2 are exported at once" in body
    assert not ExportJob.objects.exists()
    settings.EXPORT_MAX_ROWS = 3
    assert export(staff_client(SALES), "csv").status_code == 200
