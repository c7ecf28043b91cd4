"""Scheduled exports: when they run, the runner (once per occurrence, a missed slot once),
the folder and the emailed link, retention, and every refusal of the issue."""

import datetime
import os
import threading
import zoneinfo
from pathlib import Path

import openpyxl
import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone

from audiences.models import Audience
from audiences.services import delete_audience
from console import schedules
from console.forms import ScheduledExportForm
from console.models import ScheduledExport, ScheduledExportRun
from customers.models import CustomFieldDefinition, ExportDownload, ExportJob, SavedView
from loyalty_admin.roles import ADMINISTRATOR, CUSTOMER_CARE, MARKETING
from tests.conftest import make_staff
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
HCM = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(autouse=True)
def folder(settings, tmp_path):
    settings.EXPORT_SCHEDULE_DIR = tmp_path / "out"
    settings.EXPORT_SCHEDULE_DIR.mkdir()
    settings.PUBLIC_BASE_URL = "https://loyalty.example.vn"
    return settings.EXPORT_SCHEDULE_DIR


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=HCM)


def ops():
    return User.objects.filter(username="ops").first() or make_staff(ADMINISTRATOR, username="ops")


def schedule(**fields) -> ScheduledExport:
    values = {
        "name": "Huế daily",
        "query_string": "city=Huế",
        "columns": ["member_number", "city"],
        "frequency": ScheduledExport.Frequency.DAILY,
        "time_of_day": datetime.time(7, 0),
        "owner": fields.pop("owner", None) or ops(),
    }
    values.update(fields)
    return ScheduledExport.objects.create(**values)


# When ------------------------------------------------------------------------------------------


def test_daily_runs_today_when_the_time_is_still_ahead_and_tomorrow_otherwise():
    daily = ScheduledExport(frequency="daily", time_of_day=datetime.time(7, 0))
    assert schedules.next_runs(daily, local(2026, 12, 4, 6, 59)) == [local(2026, 12, 4, 7)]
    assert schedules.next_runs(daily, local(2026, 12, 4, 7, 0), 2) == [
        local(2026, 12, 5, 7),
        local(2026, 12, 6, 7),
    ]


def test_weekly_runs_on_its_day():
    monday = ScheduledExport(frequency="weekly", weekday=0, time_of_day=datetime.time(8, 30))
    runs = schedules.next_runs(monday, local(2026, 12, 4, 12), 3)  # a Friday
    assert runs == [
        local(2026, 12, 7, 8, 30),
        local(2026, 12, 14, 8, 30),
        local(2026, 12, 21, 8, 30),
    ]


def test_monthly_on_the_31st_runs_on_the_last_day_of_shorter_months():
    month_end = ScheduledExport(frequency="monthly", day_of_month=31, time_of_day=datetime.time(6))
    runs = schedules.next_runs(month_end, local(2027, 1, 31, 7), 4)
    assert runs == [
        local(2027, 2, 28, 6),
        local(2027, 3, 31, 6),
        local(2027, 4, 30, 6),
        local(2027, 5, 31, 6),
    ]
    leap = schedules.next_runs(month_end, local(2028, 2, 1), 1)
    assert leap == [local(2028, 2, 29, 6)]


def test_a_cron_expression_gives_its_times():
    weekdays = ScheduledExport(frequency="cron", cron="15 7 * * 1-5")
    runs = schedules.next_runs(weekdays, local(2026, 12, 4, 8), 3)  # Friday after 07:15
    assert runs == [local(2026, 12, 7, 7, 15), local(2026, 12, 8, 7, 15), local(2026, 12, 9, 7, 15)]


def test_times_are_in_the_configured_zone_across_a_clock_change(settings):
    settings.TIME_ZONE = "Europe/Berlin"
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    daily = ScheduledExport(frequency="daily", time_of_day=datetime.time(7, 0))
    before, after = schedules.next_runs(daily, datetime.datetime(2027, 3, 26, 8, tzinfo=berlin), 2)
    # 07:00 local both days: 06:00 UTC in winter time, 05:00 UTC once summer time began.
    assert before.astimezone(datetime.UTC).hour == 6
    assert after.astimezone(datetime.UTC).hour == 5
    cron = ScheduledExport(frequency="cron", cron="0 7 * * *")
    assert [
        run.astimezone(datetime.UTC).hour
        for run in schedules.next_runs(cron, datetime.datetime(2027, 3, 26, 8, tzinfo=berlin), 2)
    ] == [6, 5]


def test_a_schedule_is_described_in_words():
    assert (
        schedules.describe_timing(
            ScheduledExport(frequency="weekly", weekday=0, time_of_day=datetime.time(7))
        )
        == "Every Monday at 07:00"
    )
    assert "At 07:00" in schedules.describe_timing(
        ScheduledExport(frequency="cron", cron="0 7 * * *")
    )


# The runner ------------------------------------------------------------------------------------


def test_a_due_schedule_writes_its_file_once(folder):
    CustomerFactory.create_batch(3, city="Huế")
    CustomerFactory(city="Vinh")
    daily = schedule(next_run_at=local(2026, 12, 4, 7))
    with time_machine.travel(local(2026, 12, 4, 7, 0, 30), tick=False):
        runs = schedules.run_due()
        assert schedules.run_due() == []  # the same minute again: nothing
    [run] = runs
    assert (run.status, run.rows, run.file_name) == ("done", 3, "hue-daily-2026-12-04.xlsx")
    sheet = openpyxl.load_workbook(folder / run.file_name, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 4 and {row[1] for row in rows[1:]} == {"Huế"}
    assert not list(folder.glob(".*"))  # no partial file left
    daily.refresh_from_db()
    assert daily.next_run_at == local(2026, 12, 5, 7)
    job = run.job
    assert (job.via, job.created_by.username) == ("schedule", "ops")
    assert "Huế daily" in job.description and job.rows_done == 3


def test_a_missed_slot_runs_once_not_once_per_slot():
    daily = schedule(next_run_at=local(2026, 12, 1, 7))
    with time_machine.travel(local(2026, 12, 4, 9), tick=False):
        runs = schedules.run_due()
        assert schedules.run_due() == []
    assert len(runs) == 1 and runs[0].occurrence == local(2026, 12, 1, 7)
    daily.refresh_from_db()
    assert daily.next_run_at == local(2026, 12, 5, 7)


def test_a_disabled_or_future_schedule_does_not_run():
    schedule(name="off", enabled=False, next_run_at=local(2026, 12, 4, 7))
    schedule(name="later", next_run_at=local(2026, 12, 4, 8))
    with time_machine.travel(local(2026, 12, 4, 7, 30), tick=False):
        assert schedules.run_due() == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite serialises writers itself")
@pytest.mark.django_db(transaction=True)
def test_two_runners_at_once_run_an_occurrence_once(settings, tmp_path):
    CustomerFactory.create_batch(2, city="Huế")
    for number in range(3):
        schedule(
            name=f"s{number}",
            owner=make_staff(ADMINISTRATOR, username=f"ops{number}"),
            next_run_at=timezone.now() - datetime.timedelta(minutes=1),
        )
    start, done = threading.Barrier(2), []

    def runner():
        start.wait(10)
        try:
            done.extend(schedules.run_due())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=runner) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(done) == 3
    assert ScheduledExportRun.objects.count() == 3 == ExportJob.objects.count()
    assert sorted(run.schedule.name for run in ScheduledExportRun.objects.all()) == [
        "s0",
        "s1",
        "s2",
    ]
    assert all(run.status == "done" for run in ScheduledExportRun.objects.all())


def test_a_run_whose_runner_died_is_marked_failed(settings):
    daily = schedule()
    stalled = timezone.now() - datetime.timedelta(minutes=settings.JOB_STALL_MINUTES + 1)
    job = ExportJob.objects.create(columns=["email"], status="failed", error="stalled")
    died = ScheduledExportRun.objects.create(schedule=daily, occurrence=stalled, job=job)
    never = ScheduledExportRun.objects.create(
        schedule=daily, occurrence=stalled - datetime.timedelta(days=1), started_at=stalled
    )
    fresh = ScheduledExportRun.objects.create(schedule=daily, occurrence=timezone.now())
    schedules.run_due()
    for run in (died, never, fresh):
        run.refresh_from_db()
    assert died.status == never.status == "failed" and "runner was stopped" in died.error
    assert fresh.status == "running"  # its worker may still pick it up


def test_the_command_runs_what_is_due(capsys):
    CustomerFactory(city="Huế")
    schedule(next_run_at=timezone.now() - datetime.timedelta(minutes=1))
    call_command("run_scheduled_exports")
    out = capsys.readouterr().out
    assert "Huế daily: 1 rows" in out and "1 scheduled export(s) run." in out


def test_the_worker_runs_the_runner_every_minute(settings):
    assert ("console.schedules.run_due", 60) in settings.WORKER_PERIODIC


# Destinations ----------------------------------------------------------------------------------


def test_an_emailed_link_downloads_the_file_once_signed_in(client):
    CustomerFactory.create_batch(2, city="Huế")
    schedule(
        to_folder=False,
        to_email=True,
        recipients="lan@example.vn\nops@example.vn",
        next_run_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    [run] = schedules.run_due()
    assert run.status == "done" and run.emailed_to == "lan@example.vn, ops@example.vn"
    [message] = mail.outbox
    assert message.to == ["lan@example.vn", "ops@example.vn"]
    assert "Huế daily" in message.subject and "It holds 2 customers." in message.body
    link = next(line for line in message.body.splitlines() if line.startswith("https://"))
    path = link.removeprefix("https://loyalty.example.vn")
    assert client.get(path).status_code == 302  # to sign in first
    client.force_login(make_staff(MARKETING))
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert ExportDownload.objects.get().user.username == "marketing"
    client.force_login(make_staff(CUSTOMER_CARE))  # may not export
    assert client.get(path).status_code == 403


def test_an_emailed_link_expires(client, settings):
    CustomerFactory(city="Huế")
    schedule(to_email=True, recipients="lan@example.vn", next_run_at=timezone.now())
    [run] = schedules.run_due()
    path = reverse("customers:schedule_download", args=[schedules.download_token(run)])
    marketing = make_staff(MARKETING)
    later = timezone.now() + settings.EXPORT_LINK_LIFETIME + datetime.timedelta(minutes=1)
    with time_machine.travel(later):
        client.force_login(marketing)
        assert client.get(path).status_code == 404
    client.force_login(marketing)
    assert client.get(path[:-3] + "xyz/").status_code == 404  # a forged token


def test_retention_keeps_the_newest_files(folder):
    CustomerFactory(city="Huế")
    daily = schedule(keep_files=2, next_run_at=local(2026, 12, 1, 7))
    for day in (1, 2, 3):
        with time_machine.travel(local(2026, 12, day, 7, 1), tick=False):
            schedules.run_due()
    assert sorted(path.name for path in folder.iterdir()) == [
        "hue-daily-2026-12-02.xlsx",
        "hue-daily-2026-12-03.xlsx",
    ]
    oldest = daily.runs.order_by("started_at").first()
    assert oldest.file_name == "" and oldest.status == "done"  # the run stays on record


def test_a_missing_folder_fails_the_run_and_the_next_occurrence_tries_again(folder, settings):
    CustomerFactory(city="Huế")
    settings.EXPORT_SCHEDULE_DIR = folder / "gone"
    daily = schedule(next_run_at=local(2026, 12, 4, 7))
    with time_machine.travel(local(2026, 12, 4, 7, 1), tick=False):
        [run] = schedules.run_due()
    assert run.status == "failed" and "does not exist" in run.error
    settings.EXPORT_SCHEDULE_DIR.mkdir()
    with time_machine.travel(local(2026, 12, 5, 7, 1), tick=False):
        [again] = schedules.run_due()
    assert again.status == "done" and (settings.EXPORT_SCHEDULE_DIR / again.file_name).exists()
    daily.refresh_from_db()
    assert daily.enabled


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_that_is_not_writable_fails_the_run(folder):
    CustomerFactory(city="Huế")
    schedule(next_run_at=timezone.now())
    folder.chmod(0o500)
    try:
        [run] = schedules.run_due()
    finally:
        folder.chmod(0o700)
    assert run.status == "failed" and "not writable" in run.error


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_fails_the_run_and_removes_the_partial_file(folder):
    CustomerFactory(city="Huế")
    schedule(next_run_at=local(2026, 12, 4, 7))
    # The copy is written next to its final name first; here that write hits a full device.
    (folder / ".hue-daily-2026-12-04.xlsx.partial").symlink_to("/dev/full")
    with time_machine.travel(local(2026, 12, 4, 7, 1), tick=False):
        [run] = schedules.run_due()
    assert run.status == "failed" and "No space left on device" in run.error
    assert list(folder.iterdir()) == []


def test_an_export_over_the_row_cap_fails_with_the_count(settings):
    settings.EXPORT_MAX_ROWS = 2
    CustomerFactory.create_batch(3, city="Huế")
    schedule(next_run_at=timezone.now())
    [run] = schedules.run_due()
    assert run.status == "failed" and "would hold 3 rows" in run.error


def test_a_deleted_column_fails_the_run_with_the_reason():
    definition = CustomFieldDefinition.objects.create(
        key="shoe", label="Shoe size", field_type="text"
    )
    schedule(columns=["member_number", "cf_shoe"], next_run_at=timezone.now())
    definition.delete()
    [run] = schedules.run_due()
    assert run.status == "failed" and "unknown export columns: cf_shoe" in run.error


# Sources ---------------------------------------------------------------------------------------


def test_an_audience_schedule_exports_its_members_and_protects_it():
    CustomerFactory.create_batch(2, city="Huế")
    CustomerFactory(city="Vinh")
    hue = Audience.objects.create(name="Huế", name_key="hue", rule="city=Huế")
    owner = ops()
    schedule(
        source="audience", audience=hue, query_string="", owner=owner, next_run_at=timezone.now()
    )
    [run] = schedules.run_due()
    assert run.rows == 2
    with pytest.raises(ValidationError, match="scheduled export “Huế daily”"):
        delete_audience(audience=hue, actor=owner)


def test_a_deleted_saved_view_switches_the_schedule_off_with_the_reason(client):
    owner = ops()
    view = SavedView.objects.create(name="Hue VIPs", owner=owner, query_string="city=Huế")
    daily = schedule(source="view", saved_view=view, owner=owner, next_run_at=timezone.now())
    view.delete()
    daily.refresh_from_db()
    assert not daily.enabled and daily.disabled_reason == "Its saved view “Hue VIPs” was deleted."
    assert schedules.run_due() == []
    client.force_login(owner)
    page = client.get(reverse("customers:schedules")).content.decode()
    assert "Its saved view “Hue VIPs” was deleted." in page


def test_a_source_gone_at_run_time_disables_the_schedule():
    daily = schedule(source="audience", audience=None, next_run_at=timezone.now())
    [run] = schedules.run_due()
    daily.refresh_from_db()
    assert run.status == "failed" and run.error == "Its audience was deleted."
    assert not daily.enabled and daily.disabled_reason == "Its audience was deleted."


# The form's refusals ---------------------------------------------------------------------------


def form_data(**changes) -> dict:
    data = {
        "name": "Weekly Huế",
        "source": "filter",
        "query_string": "city=Huế",
        "columns": ["member_number", "city"],
        "file_format": "xlsx",
        "frequency": "daily",
        "time_of_day": "07:00",
        "filename_pattern": "{name}-{date}.{ext}",
        "keep_files": "7",
        "to_folder": "on",
        "enabled": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def errors_of(**changes) -> dict:
    form = ScheduledExportForm(form_data(**changes), user=make_staff(ADMINISTRATOR, username="f"))
    assert not form.is_valid()
    return form.errors


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"frequency": "cron", "cron": "61 * * * *"},
            "cron",
            "is not a valid cron expression: Bad minute",
        ),
        ({"frequency": "cron", "cron": ""}, "cron", "Type the cron expression."),
        ({"time_of_day": "25:99"}, "time_of_day", "Enter a valid time."),
        ({"time_of_day": ""}, "time_of_day", "Give the local time it runs at."),
        ({"frequency": "weekly"}, "weekday", "Choose the day of the week."),
        (
            {"frequency": "monthly", "day_of_month": "32"},
            "day_of_month",
            "A day of the month is 1 to 31.",
        ),
        ({"to_email": "on", "recipients": ""}, "recipients", "Give at least one recipient"),
        (
            {"to_email": "on", "recipients": "lan@, x@y.vn"},
            "recipients",
            "Not an email address: lan@.",
        ),
        ({"to_folder": None}, "__all__", "Choose where the file goes"),
        ({"filename_pattern": "../{name}.xlsx"}, "filename_pattern", "no slashes"),
        ({"filename_pattern": "{user}.xlsx"}, "filename_pattern", "Unknown placeholder {user}"),
        ({"query_string": "rank=abc"}, "query_string", "The filter is not valid"),
        ({"source": "view"}, "saved_view", "Choose the saved view to export."),
        ({"source": "audience"}, "audience", "Choose the audience to export."),
        ({"columns": ["nope"]}, "columns", "Select a valid choice"),
    ],
)
def test_the_form_refuses_with_the_reason(changes, field, message):
    assert message in " ".join(errors_of(**changes)[field])


def test_a_colleague_edits_a_schedule_of_their_private_saved_view():
    owner = ops()
    view = SavedView.objects.create(name="Mine", owner=owner, query_string="city=Huế")
    daily = schedule(source="view", saved_view=view, query_string="")
    colleague = make_staff(MARKETING)
    data = form_data(source="view", saved_view=str(view.pk), query_string="")
    assert ScheduledExportForm(data, instance=daily, user=colleague).is_valid()
    assert "saved_view" in errors_of(source="view", saved_view=str(view.pk))  # not for new ones


def test_a_column_that_no_longer_exists_is_named_when_editing():
    definition = CustomFieldDefinition.objects.create(
        key="shoe", label="Shoe size", field_type="text"
    )
    daily = schedule(columns=["member_number", "cf_shoe"])
    definition.delete()
    form = ScheduledExportForm(instance=daily, user=daily.owner)
    assert form.missing_columns == ["cf_shoe"] and form.initial["columns"] == ["member_number"]


# Pages -----------------------------------------------------------------------------------------


def test_check_shows_the_row_count_and_the_next_three_runs_without_saving(admin_client):
    CustomerFactory.create_batch(2, city="Huế")
    with time_machine.travel(local(2026, 12, 4, 12), tick=False):
        response = admin_client.post(reverse("customers:schedule_create"), form_data(preview="1"))
    body = response.content.decode()
    assert "2 customers match now." in body
    assert "2026-12-05 07:00" in body and "2026-12-06 07:00" in body and "2026-12-07 07:00" in body
    assert not ScheduledExport.objects.exists()


def test_a_refused_schedule_keeps_what_was_typed(admin_client):
    response = admin_client.post(
        reverse("customers:schedule_create"), form_data(frequency="cron", cron="0 7 * *  bad")
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert 'value="Weekly Huế"' in body and 'value="0 7 * *  bad"' in body


def test_saving_sets_the_next_run_and_the_owner(staff_client):
    client = staff_client(MARKETING)
    with time_machine.travel(local(2026, 12, 4, 12), tick=False):
        response = client.post(reverse("customers:schedule_create"), form_data())
    saved = ScheduledExport.objects.get()
    assert response.status_code == 302 and response.url == saved.get_absolute_url()
    assert saved.owner.username == "marketing" and saved.next_run_at == local(2026, 12, 5, 7)


def test_run_now_runs_and_the_history_offers_the_file(
    admin_client, folder, django_capture_on_commit_callbacks
):
    CustomerFactory.create_batch(2, city="Huě")
    daily = schedule(query_string="", next_run_at=local(2027, 1, 1, 7))
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("customers:schedule_run", args=[daily.pk]))
    response = admin_client.get(daily.get_absolute_url())
    body = response.content.decode()
    run = daily.runs.get()
    assert run.manual and run.status == "done" and run.rows == 2
    assert (
        "is running now" in body
        and reverse("customers:schedule_run_download", args=[daily.pk, run.pk]) in body
    )
    daily.refresh_from_db()
    assert daily.next_run_at == local(2027, 1, 1, 7)  # the schedule itself is unchanged
    download = admin_client.get(reverse("customers:schedule_run_download", args=[daily.pk, run.pk]))
    assert download.status_code == 200 and ExportDownload.objects.count() == 1


def test_the_list_shows_next_run_last_run_and_its_status(admin_client):
    for number in range(3):
        owner = make_staff(ADMINISTRATOR, username=f"o{number}")
        item = schedule(name=f"s{number}", next_run_at=local(2026, 12, 5, 7), owner=owner)
        ScheduledExportRun.objects.create(
            schedule=item, occurrence=local(2026, 12, 4, 7), status="failed", error="disk"
        )
    body = admin_client.get(reverse("customers:schedules")).content.decode()
    assert body.count("2026-12-05 07:00") == 3 and body.count(">Failed<") == 3


def test_the_export_log_names_the_schedule(admin_client):
    CustomerFactory(city="Huế")
    schedule(next_run_at=timezone.now())
    schedules.run_due()
    body = admin_client.get(reverse("customers:export_log") + "?via=schedule").content.decode()
    assert "Scheduled “Huế daily”: City: Huế" in body
