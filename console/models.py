"""Scheduled exports: a customer filter, a saved view or an audience written to a file on a
schedule, to a server folder and/or as an emailed link, and the record of each run."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import ExportJob

DEFAULT_FILENAME_PATTERN = "{name}-{date}.{ext}"


class ScheduledExport(models.Model):
    class Source(models.TextChoices):
        FILTER = "filter", _("A customer filter")
        SAVED_VIEW = "view", _("A saved view")
        AUDIENCE = "audience", _("An audience")

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Every day")
        WEEKLY = "weekly", _("Every week")
        MONTHLY = "monthly", _("Every month")
        CRON = "cron", _("A cron expression")

    name = models.CharField(_("name"), max_length=120, unique=True)
    source = models.CharField(_("source"), max_length=8, choices=Source, default=Source.FILTER)
    query_string = models.TextField(_("filter"), blank=True)
    saved_view = models.ForeignKey(
        "customers.SavedView",
        verbose_name=_("saved view"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scheduled_exports",
    )
    audience = models.ForeignKey(
        "audiences.Audience",
        verbose_name=_("audience"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scheduled_exports",
    )
    columns = models.JSONField(_("columns"), default=list)
    file_format = models.CharField(
        _("format"), max_length=4, choices=ExportJob.Format, default=ExportJob.Format.XLSX
    )

    frequency = models.CharField(
        _("repeat"), max_length=8, choices=Frequency, default=Frequency.DAILY
    )
    time_of_day = models.TimeField(_("at (local time)"), null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(_("on"), null=True, blank=True)  # 0 = Monday
    day_of_month = models.PositiveSmallIntegerField(_("on day"), null=True, blank=True)
    cron = models.CharField(_("cron expression"), max_length=120, blank=True)

    to_folder = models.BooleanField(_("write to the export folder"), default=True)
    filename_pattern = models.CharField(
        _("file name"), max_length=120, default=DEFAULT_FILENAME_PATTERN
    )
    keep_files = models.PositiveSmallIntegerField(_("files kept"), default=14)
    to_email = models.BooleanField(_("email a download link"), default=False)
    recipients = models.TextField(_("recipients"), blank=True)

    enabled = models.BooleanField(_("enabled"), default=True)
    # Why the schedule was switched off by the system (its source deleted), for its owner.
    disabled_reason = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="scheduled_exports",
    )
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["enabled", "next_run_at"], name="schedule_due_idx")]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customers:schedule_detail", args=[self.pk])

    @property
    def recipient_list(self) -> list[str]:
        return [part for part in self.recipients.replace(",", "\n").split() if part]


class ScheduledExportRun(models.Model):
    """One occurrence of a schedule (or one "Run now"): unique per schedule and slot, so two
    runners never run the same occurrence twice."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    schedule = models.ForeignKey(ScheduledExport, on_delete=models.CASCADE, related_name="runs")
    occurrence = models.DateTimeField(_("slot"))
    manual = models.BooleanField(default=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.OneToOneField(
        "customers.ExportJob",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="scheduled_run",
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.RUNNING)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    # The file written to the export folder (relative to EXPORT_SCHEDULE_DIR); cleared when
    # retention removes it.
    file_name = models.CharField(max_length=255, blank=True)
    emailed_to = models.TextField(blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "occurrence"], name="scheduledexportrun_once_per_slot"
            )
        ]

    def __str__(self):
        return f"{self.schedule} at {self.occurrence:%Y-%m-%d %H:%M}"

    @property
    def duration(self) -> float | None:
        if not self.finished_at:
            return None
        return (self.finished_at - self.started_at).total_seconds()
