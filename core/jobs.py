"""What every background job model shares: a worker claims a queued job before running it."""

from django.db import transaction
from django.utils import timezone


def claim(model, job_id: int, **fields):
    """Take the queued job `job_id` for this worker: running, started now, its last error
    cleared, and `fields` set. Returns (job, True); (job, False) when it is not queued (another
    worker has it, or it already ran), leaving it untouched. The row lock makes two workers
    that pick up the same task agree on one of them."""
    with transaction.atomic():
        job = model.objects.select_for_update().get(pk=job_id)
        if job.status != model.Status.QUEUED:
            return job, False
        values = {"status": model.Status.RUNNING, "started_at": timezone.now(), "error": ""}
        values.update(fields)
        for name, value in values.items():
            setattr(job, name, value)
        job.save(update_fields=list(values))
    return job, True
