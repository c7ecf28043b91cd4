"""The one background-job abstraction: what exports, rank recalculations, imports and bulk
changes share — status, who, when, progress, error, enqueue, retry — and one sweep that marks
a job whose worker died as failed with its reason (run periodically by `manage.py worker`)."""

import logging
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

logger = logging.getLogger("loyalty.jobs")


class Job(models.Model):
    """Abstract base of every background job model.

    A concrete job names the task that runs it in `task_name` (a dotted path, resolved when
    the job is enqueued, so the model never imports its task module and the task module may
    import the model's services). The task receives the job's id and starts with `claim`."""

    class Status(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Running")
        DONE = "done", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")

    status = models.CharField(max_length=8, choices=Status, default=Status.QUEUED)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    via = models.CharField(max_length=12, default="web")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moved on while the job works: a running job whose heartbeat stops has lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    task_name = ""
    retry_refusal = gettext_lazy("Only a failed job can be retried.")

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == self.Status.DONE else 0
        return min(100, round(100 * self.rows_done / self.total_rows))

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    def enqueue(self, *args, task_name: str = "") -> None:
        """Hand the job to the worker once the current transaction commits (to its own task,
        or to `task_name` for a second kind of work on the same row, as an import's undo)."""
        task = import_string(task_name or self.task_name)
        transaction.on_commit(lambda: task.enqueue(self.pk, *args))

    @classmethod
    def claim(cls, job_id: int, **fields):
        """Take the queued job `job_id` for this worker: running, started now, its last error
        cleared, and `fields` set. Returns (job, True); (job, False) when it is not queued
        (another worker has it, or it already ran), leaving it untouched. The row lock makes
        two workers that pick up the same task agree on one of them."""
        with transaction.atomic():
            job = cls.objects.select_for_update().get(pk=job_id)
            if job.status != cls.Status.QUEUED:
                return job, False
            now = timezone.now()
            values = {"status": cls.Status.RUNNING, "started_at": now, "heartbeat_at": now}
            values.update({"error": "", **fields})
            for name, value in values.items():
                setattr(job, name, value)
            job.save(update_fields=list(values))
        return job, True

    def beat(self, **fields) -> None:
        """Record that the worker is alive (and any progress in `fields`)."""
        fields["heartbeat_at"] = timezone.now()
        type(self).objects.filter(pk=self.pk).update(**fields)
        for name, value in fields.items():
            setattr(self, name, value)

    def finish(self, **fields) -> None:
        self._end(self.Status.DONE, fields)

    def fail(self, error: BaseException | str, **fields) -> None:
        """Mark the job failed with its reason (the exception's type and message)."""
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self._end(self.Status.FAILED, {"error": reason[:2000], **fields})

    def _end(self, status, fields: dict) -> None:
        values = {"status": status, "finished_at": timezone.now(), **fields}
        for name, value in values.items():
            setattr(self, name, value)
        self.save(update_fields=list(values))

    def retry(self) -> None:
        """Queue a failed job again; ValidationError says why not otherwise."""
        if self.status != self.Status.FAILED:
            raise ValidationError(self.retry_refusal, code="not_failed")
        self.status = self.Status.QUEUED
        self.save(update_fields=["status"])
        self.enqueue()

    @classmethod
    def stall_limit(cls, now):
        return now - timedelta(minutes=settings.JOB_STALL_MINUTES)

    @classmethod
    def stalled_ids(cls, now) -> list[int]:
        """Running jobs whose worker has not been heard from since the stall limit."""
        running = cls.objects.filter(
            status=cls.Status.RUNNING, heartbeat_at__lt=cls.stall_limit(now)
        )
        return list(running.values_list("pk", flat=True))

    @classmethod
    def after_stalled(cls, job_ids: list[int]) -> None:
        """What a job kind tidies after the sweep marked these jobs failed (nothing here)."""

    @classmethod
    def stalled_message(cls) -> str:
        return _(
            "The worker stopped reporting for %(minutes)s minutes (it was probably stopped); "
            "what it was doing was rolled back. Retry it."
        ) % {"minutes": settings.JOB_STALL_MINUTES}


def job_models() -> list[type[Job]]:
    return [model for model in apps.get_models() if issubclass(model, Job)]


def fail_stalled_jobs(now=None) -> int:
    """Mark every running job of every kind whose worker died as failed, with the reason, so
    it can be retried. Returns how many it marked."""
    now = now or timezone.now()
    return sum(fail_stalled_of(model, now) for model in job_models())


def fail_stalled_of(model: type[Job], now) -> int:
    stalled = model.stalled_ids(now)
    if not stalled:
        return 0
    try:
        count = model.objects.filter(pk__in=stalled, status=model.Status.RUNNING).update(
            status=model.Status.FAILED, error=model.stalled_message(), finished_at=now
        )
    except DatabaseError:  # SQLite: a live worker holds the write lock
        logger.info("stalled %s not marked: the database is busy", model._meta.label)
        return 0
    if count:
        logger.warning("%s stalled %s marked failed", count, model._meta.label)
        model.after_stalled(stalled)
    return count
