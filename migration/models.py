"""Imports of customer data from legacy systems: the job, its undo record, mapping profiles."""

from datetime import timedelta

from django.conf import settings
from django.db import connection, models
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import Job
from migration import progress


class MatchKey(models.TextChoices):
    OLD_MEMBER_ID = "old_member_id", _("Old member ID")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Mobile number")
    MEMBER_NUMBER = "member_number", _("Member number")


class Policy(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("All or nothing: any invalid row and nothing is written")
    SKIP_INVALID = "skip_invalid", _("Skip invalid rows: write exactly the valid ones")


class MappingProfile(models.Model):
    """A saved column mapping (file header → customer field) to reuse for the next file."""

    name = models.CharField(_("name"), max_length=80)
    # {header text as in the file: field name}
    mapping = models.JSONField(_("mapping"), default=dict)
    match_key = models.CharField(
        _("match key"), max_length=16, choices=MatchKey, default=MatchKey.OLD_MEMBER_ID
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="mappingprofile_name_ci_unique")]

    def __str__(self):
        return self.name


class ImportJob(Job):
    """One import of a file (or its dry run): configuration, progress, outcome, undo state."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Being set up")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        UNDOING = "undoing", _("Being undone")
        UNDONE = "undone", _("Undone")

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        XLSX = "xlsx", _("Excel (.xlsx)")

    # What a run of the file is asked to do: a dry run's "run it for real" copies these.
    RUN_SETTINGS = (
        "file", "original_name", "file_format", "encoding", "delimiter", "sheet", "headers",
        "mapping", "mapped_by", "match_key", "policy", "create_tags", "empty_clears", "via",
    )  # fmt: skip

    file = models.FileField(upload_to="imports/%Y/%m/")
    original_name = models.CharField(_("file"), max_length=255)
    # The built-in profile (a platform's export) that suggested the mapping, if one did.
    mapped_by = models.CharField(_("mapped by"), max_length=80, blank=True)
    file_format = models.CharField(_("format"), max_length=4, choices=Format)
    # Empty means detected from the file.
    encoding = models.CharField(_("encoding"), max_length=20, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=1, blank=True)
    sheet = models.CharField(_("sheet"), max_length=120, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # {column position as a string: field name}; unmapped columns are ignored.
    mapping = models.JSONField(_("mapping"), default=dict, blank=True)
    match_key = models.CharField(
        _("match key"), max_length=16, choices=MatchKey, default=MatchKey.OLD_MEMBER_ID
    )
    policy = models.CharField(
        _("policy"), max_length=16, choices=Policy, default=Policy.ALL_OR_NOTHING
    )
    create_tags = models.BooleanField(_("create missing tags"), default=False)
    empty_clears = models.BooleanField(_("empty cells clear values"), default=False)
    dry_run = models.BooleanField(_("dry run"), default=False)
    # The dry run this import was started from.
    dry_run_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs"
    )
    status = models.CharField(max_length=8, choices=Status, default=Status.DRAFT)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    unchanged_count = models.PositiveIntegerField(_("unchanged"), default=0)
    failed_count = models.PositiveIntegerField(_("failed"), default=0)
    # Rows the file had but the import left out: unknown columns, notes for the report.
    notes = models.JSONField(default=list, blank=True)
    # The first rows' outcomes: [{row, outcome, values, errors}] for the report page.
    preview = models.JSONField(default=list, blank=True)
    error_file = models.FileField(upload_to="imports/errors/%Y/%m/", blank=True)
    created_tag_ids = models.JSONField(default=list, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undo_forced = models.BooleanField(default=False)
    undo_error = models.TextField(blank=True)

    task_name = "migration.tasks.import_customers_task"
    retry_refusal = _("Only a failed import can be retried.")

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]
        permissions = [("undo_importjob", _("Can undo an import"))]
        constraints = [
            # A dry run is imported once (a failed import of it may be retried or replaced).
            models.UniqueConstraint(
                fields=["dry_run_of"],
                condition=models.Q(dry_run_of__isnull=False) & ~models.Q(status="failed"),
                name="import_one_live_run_per_dry_run",
            )
        ]

    def __str__(self):
        kind = _("dry run") if self.dry_run else _("import")
        return f"{kind} {self.pk} ({self.original_name})"

    def get_absolute_url(self):
        return reverse("migration:detail", args=[self.pk])

    @property
    def reference(self) -> str:
        """How the ledger entries, rank history and timeline of the import name it."""
        return f"import #{self.pk}" if self.pk else "import"

    def describe(self, what: str) -> str:
        """A timeline message about the import: "Updated (import #12, members.csv)"."""
        return f"{what} ({self.reference}, {self.original_name})"[:255]

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status in (self.Status.DONE, self.Status.UNDONE) else 0
        return min(100, round(100 * self.rows_done / self.total_rows))

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING, self.Status.UNDOING)

    @classmethod
    def stall_limit(cls, now):
        return now - timedelta(minutes=settings.IMPORT_STALL_MINUTES)

    @classmethod
    def stalled_ids(cls, now) -> list[int]:
        running = cls.objects.filter(
            status=cls.Status.RUNNING, heartbeat_at__lt=cls.stall_limit(now)
        )
        return [job.pk for job in running.only("status", "heartbeat_at") if job.is_stalled(now)]

    def is_stalled(self, now=None) -> bool:
        """Whether a running import's worker stopped reporting. The heartbeat moves with every
        batch: on PostgreSQL in the job row, from a connection of its own; on SQLite it is the
        published progress file's time (`migration.progress`)."""
        if self.status != self.Status.RUNNING or self.heartbeat_at is None:
            return False
        limit = self.stall_limit(now or timezone.now())
        if self.heartbeat_at >= limit:
            return False
        if connection.vendor == "postgresql":
            return True
        published = progress.read(self.pk)
        return published is None or published[1] < limit

    @classmethod
    def after_stalled(cls, job_ids: list[int]) -> None:
        for pk in job_ids:
            progress.clear(pk)

    @classmethod
    def stalled_message(cls) -> str:
        return _(
            "The worker stopped reporting progress for %(minutes)s minutes (it was probably "
            "stopped). The import's transaction went with it, so nothing was written; retry it."
        ) % {"minutes": settings.IMPORT_STALL_MINUTES}

    @property
    def can_undo(self) -> bool:
        return (
            not self.dry_run
            and self.status == self.Status.DONE
            and (self.created_count or self.updated_count)
        )

    @property
    def rate(self) -> float | None:
        """Rows per second so far."""
        if not self.started_at or not self.rows_done:
            return None
        elapsed = ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
        return self.rows_done / elapsed if elapsed > 0 else None

    @property
    def eta_seconds(self) -> int | None:
        rate = self.rate
        if not rate or not self.total_rows or self.status != self.Status.RUNNING:
            return None
        return max(0, round((self.total_rows - self.rows_done) / rate))


class ImportBatch(models.Model):
    """What one batch of an import wrote, so that undo can restore exactly that."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="batches")
    written_at = models.DateTimeField()
    created_ids = models.JSONField(default=list)
    # {customer id: {field: value before the import}} for updated customers.
    previous = models.JSONField(default=dict)
    # {customer id: points delta the import recorded}
    points = models.JSONField(default=dict)
    # [[customer id, tag id], …] assignments the import added.
    tag_links = models.JSONField(default=list)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"batch {self.pk} of import {self.job_id}"
