"""Scheduled exports: when they run, what they export, and the runner.

`run_due` is what `manage.py run_scheduled_exports` (cron, a systemd timer) and the worker call.
It takes one due schedule at a time with SELECT … FOR UPDATE SKIP LOCKED, records the occurrence
(unique per schedule and slot) and moves the schedule's next run past *now* in the same
transaction, so a second runner skips it, and a schedule that missed several slots while nothing
ran runs once, not once per slot. The export itself runs after that commit, outside the lock.
"""

import calendar
import datetime
import logging
import os
import re
import shutil
from pathlib import Path

from cronsim import CronSim, CronSimError
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.jobs import create_export_job, run_export_job
from console.models import ScheduledExport, ScheduledExportRun
from customers.models import ExportJob

logger = logging.getLogger("loyalty.schedules")

WEEKDAYS = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]
PLACEHOLDERS = {"name", "date", "time", "ext"}
LINK_SALT = "console.scheduled-export-link"


# When ------------------------------------------------------------------------------------------


def check_cron(expression: str) -> None:
    """Raise ValidationError saying what is wrong with a cron expression."""
    try:
        CronSim(expression, datetime.datetime(2000, 1, 1))
    except CronSimError as error:
        raise ValidationError(
            _("“%(cron)s” is not a valid cron expression: %(why)s.")
            % {"cron": expression, "why": str(error).rstrip(".")},
            code="bad_cron",
        ) from None


def next_runs(schedule: ScheduledExport, after: datetime.datetime, count: int = 1) -> list:
    """The schedule's next `count` run times strictly after `after`, in the configured zone.

    Monthly on a day a month lacks (the 29th–31st) runs on that month's last day."""
    zone = timezone.get_default_timezone()
    local = timezone.localtime(after, zone)
    if schedule.frequency == ScheduledExport.Frequency.CRON:
        times = CronSim(schedule.cron, local.replace(tzinfo=zone))
        return [next(times) for _ in range(count)]
    at = schedule.time_of_day or datetime.time(0, 0)
    runs: list[datetime.datetime] = []
    day = local.date()
    while len(runs) < count:
        candidate = _slot_on(schedule, day, at, zone)
        if candidate is not None and candidate > local:
            runs.append(candidate)
        day += datetime.timedelta(days=1)
    return runs


def _slot_on(schedule, day: datetime.date, at: datetime.time, zone):
    frequency = schedule.frequency
    if frequency == ScheduledExport.Frequency.WEEKLY and day.weekday() != schedule.weekday:
        return None
    if frequency == ScheduledExport.Frequency.MONTHLY:
        last = calendar.monthrange(day.year, day.month)[1]
        if day.day != min(schedule.day_of_month or 1, last):
            return None
    return datetime.datetime.combine(day, at, tzinfo=zone)


def describe_timing(schedule: ScheduledExport) -> str:
    """The schedule in words: "Every Monday at 07:00"."""
    at = schedule.time_of_day.strftime("%H:%M") if schedule.time_of_day else ""
    frequency = schedule.frequency
    if frequency == ScheduledExport.Frequency.CRON:
        try:
            words = CronSim(schedule.cron, datetime.datetime(2000, 1, 1)).explain()
        except (CronSimError, ValueError):
            words = ""
        return f"{schedule.cron} ({words})" if words else schedule.cron
    if frequency == ScheduledExport.Frequency.WEEKLY:
        day = dict(WEEKDAYS).get(schedule.weekday, "?")
        return _("Every %(day)s at %(at)s") % {"day": day, "at": at}
    if frequency == ScheduledExport.Frequency.MONTHLY:
        return _("On day %(day)s of every month at %(at)s (the last day in shorter months)") % {
            "day": schedule.day_of_month,
            "at": at,
        }
    return _("Every day at %(at)s") % {"at": at}


# What ------------------------------------------------------------------------------------------


def source_rule(schedule: ScheduledExport) -> str:
    """The list query string the schedule exports; ValidationError when its source is gone."""
    if schedule.source == ScheduledExport.Source.AUDIENCE:
        if schedule.audience_id is None:
            raise ValidationError(_("Its audience was deleted."), code="source_gone")
        return f"audience={schedule.audience_id}"
    if schedule.source == ScheduledExport.Source.SAVED_VIEW:
        if schedule.saved_view_id is None:
            raise ValidationError(_("Its saved view was deleted."), code="source_gone")
        return schedule.saved_view.query_string.lstrip("?")
    return schedule.query_string.lstrip("?")


def check_filename_pattern(pattern: str) -> None:
    names = set(re.findall(r"\{([^{}]*)\}", pattern))
    unknown = names - PLACEHOLDERS
    if unknown:
        raise ValidationError(
            _("Unknown placeholder %(names)s: use {name}, {date}, {time} and {ext}.")
            % {"names": ", ".join(f"{{{name}}}" for name in sorted(unknown))},
            code="bad_pattern",
        )
    if "/" in pattern or "\\" in pattern or pattern.startswith(".") or "\x00" in pattern:
        raise ValidationError(
            _("A file name, not a path: no slashes, and it may not start with a dot."),
            code="bad_pattern",
        )


def file_name(schedule: ScheduledExport, occurrence: datetime.datetime) -> str:
    local = timezone.localtime(occurrence)
    name = schedule.filename_pattern.format(
        name=slugify(schedule.name) or f"schedule-{schedule.pk}",
        date=local.strftime("%Y-%m-%d"),
        time=local.strftime("%H%M"),
        ext=schedule.file_format,
    )
    if not name.endswith(f".{schedule.file_format}"):
        name = f"{name}.{schedule.file_format}"
    return name


def disable(schedule: ScheduledExport, reason: str) -> None:
    ScheduledExport.objects.filter(pk=schedule.pk).update(enabled=False, disabled_reason=reason)
    schedule.enabled, schedule.disabled_reason = False, reason
    logger.warning("scheduled export %s disabled: %s", schedule.pk, reason)


def save_schedule(schedule: ScheduledExport) -> ScheduledExport:
    """Save a schedule edited in the form, its next run computed from now (re-enabling clears
    the reason it was switched off)."""
    if schedule.enabled:
        schedule.disabled_reason = ""
        schedule.next_run_at = next_runs(schedule, timezone.now())[0]
    else:
        schedule.next_run_at = None
    schedule.save()
    return schedule


# The runner ------------------------------------------------------------------------------------


def run_due(now=None) -> list[ScheduledExportRun]:
    """Run every schedule that is due; safe to call every minute from several machines."""
    fail_abandoned(now or timezone.now())
    runs = []
    while (run := _take_due(now or timezone.now())) is not None:
        runs.append(execute(run))
    return runs


def _take_due(now) -> ScheduledExportRun | None:
    with transaction.atomic():
        schedule = (
            ScheduledExport.objects.select_for_update(skip_locked=True)
            .filter(enabled=True, next_run_at__lte=now)
            .order_by("next_run_at", "pk")
            .first()
        )
        if schedule is None:
            return None
        occurrence = schedule.next_run_at
        schedule.next_run_at = next_runs(schedule, now)[0]
        schedule.save(update_fields=["next_run_at"])
        run, created = ScheduledExportRun.objects.get_or_create(
            schedule=schedule, occurrence=occurrence
        )
    # Not created: this slot ran already (the schedule's next run was set back by hand).
    return run if created else _take_due(now)


def fail_abandoned(now) -> int:
    """Mark failed the runs whose runner died: their export job was marked failed by the
    worker's sweep, or no job was ever made after the stall limit. The next occurrence, or
    Run now, tries again."""
    limit = now - datetime.timedelta(minutes=settings.JOB_STALL_MINUTES)
    abandoned = ScheduledExportRun.objects.filter(status=ScheduledExportRun.Status.RUNNING).filter(
        Q(job__status=ExportJob.Status.FAILED) | Q(job__isnull=True, started_at__lt=limit)
    )
    return abandoned.update(
        status=ScheduledExportRun.Status.FAILED,
        finished_at=now,
        error=_(
            "The run stopped before it finished (its runner was stopped); "
            "the next occurrence runs again."
        ),
    )


def run_now(schedule: ScheduledExport, user) -> ScheduledExportRun:
    """Record a run outside the schedule, for the worker to perform at once."""
    run = ScheduledExportRun.objects.create(
        schedule=schedule, occurrence=timezone.now(), manual=True, requested_by=user
    )
    task = import_string("console.tasks.run_scheduled_export_task")  # the task imports this
    transaction.on_commit(lambda: task.enqueue(run.pk))
    return run


def execute(run: ScheduledExportRun) -> ScheduledExportRun:
    """Export, copy to the folder, email the link, prune old files; the run is marked failed
    with the reason on any error (the schedule's next occurrence tries again)."""
    schedule = run.schedule
    try:
        rule = source_rule(schedule)
    except ValidationError as error:
        reason = " ".join(error.messages)
        disable(schedule, reason)
        return _end(run, ScheduledExportRun.Status.FAILED, error=reason)
    try:
        job = create_export_job(
            user=schedule.owner,
            query_string=rule,
            columns=schedule.columns,
            file_format=schedule.file_format,
            via="schedule",
            label=_("Scheduled “%(name)s”") % {"name": schedule.name},
        )
        run.job = job
        run.save(update_fields=["job"])
        run.job = job = run_export_job(job.pk)
        if job.status != ExportJob.Status.DONE:
            raise RuntimeError(job.error)
        run.rows = job.rows_done
        if schedule.to_folder:
            run.file_name = _write_to_folder(job, file_name(schedule, run.occurrence))
            run.save(update_fields=["file_name"])
            prune_files(schedule)
        if schedule.to_email:
            run.emailed_to = _email_link(schedule, run)
    except (ValidationError, OSError, RuntimeError) as error:
        reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
        logger.warning("scheduled export %s run %s failed: %s", schedule.pk, run.pk, reason)
        return _end(run, ScheduledExportRun.Status.FAILED, error=reason)
    return _end(run, ScheduledExportRun.Status.DONE)


def _end(run, status, **fields) -> ScheduledExportRun:
    values = {"status": status, "finished_at": timezone.now(), **fields}
    for name, value in values.items():
        setattr(run, name, value)
    run.save()
    return run


def export_folder() -> Path:
    return Path(settings.EXPORT_SCHEDULE_DIR)


def _write_to_folder(job: ExportJob, name: str) -> str:
    """Copy the export's file into the folder; a partial copy is removed, and the reason
    (missing folder, not writable, disk full) is the error."""
    folder = export_folder()
    if not folder.is_dir():
        raise OSError(_("The export folder %(folder)s does not exist.") % {"folder": folder})
    if not os.access(folder, os.W_OK):
        raise OSError(_("The export folder %(folder)s is not writable.") % {"folder": folder})
    target = folder / name
    partial = folder / f".{name}.partial"
    try:
        with job.file.open("rb") as source, partial.open("wb") as copy:
            shutil.copyfileobj(source, copy, 1024 * 1024)
        partial.replace(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise OSError(
            _("Writing %(name)s to the export folder failed: %(why)s")
            % {"name": name, "why": error.strerror or error}
        ) from error
    return name


def prune_files(schedule: ScheduledExport) -> int:
    """Delete the schedule's folder files beyond the newest `keep_files`; the runs stay."""
    written = schedule.runs.exclude(file_name="").order_by("-started_at", "-id")
    old = list(written[schedule.keep_files :]) if schedule.keep_files else []
    folder = export_folder()
    for run in old:
        (folder / run.file_name).unlink(missing_ok=True)
        ScheduledExportRun.objects.filter(pk=run.pk).update(file_name="")
    return len(old)


def download_token(run: ScheduledExportRun) -> str:
    return signing.dumps(run.pk, salt=LINK_SALT)


def run_for_token(token: str) -> ScheduledExportRun | None:
    """The run an emailed link names, or None when the link is forged or has expired."""
    try:
        pk = signing.loads(
            token, salt=LINK_SALT, max_age=settings.EXPORT_LINK_LIFETIME.total_seconds()
        )
    except signing.BadSignature:
        return None
    return ScheduledExportRun.objects.select_related("job", "schedule").filter(pk=pk).first()


def _email_link(schedule: ScheduledExport, run: ScheduledExportRun) -> str:
    recipients = schedule.recipient_list
    url = settings.PUBLIC_BASE_URL + reverse(
        "customers:schedule_download", args=[download_token(run)]
    )
    expires = timezone.localtime(timezone.now() + settings.EXPORT_LINK_LIFETIME)
    body = render_to_string(
        "customers/email/scheduled_export.txt",
        {"schedule": schedule, "run": run, "url": url, "expires": expires},
    )
    subject = _("Scheduled export “%(name)s” is ready") % {"name": schedule.name}
    try:
        send_mail(subject, body, None, recipients)
    except OSError as error:
        raise OSError(
            _("The file was written but the email could not be sent: %(why)s") % {"why": error}
        ) from error
    return ", ".join(recipients)


def on_source_deleted(schedules, reason: str) -> None:
    """Switch off the schedules whose saved view or audience is being deleted."""
    for schedule in schedules:
        disable(schedule, reason)
