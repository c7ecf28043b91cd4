"""Background tasks for the console (run by the task worker)."""

from django.tasks import task

from console import schedules
from console.jobs import run_export_job
from console.models import ScheduledExportRun


@task()
def export_customers_task(job_id: int) -> None:
    run_export_job(job_id)


@task()
def run_scheduled_export_task(run_id: int) -> None:
    """A schedule's "Run now", performed by the worker."""
    run = ScheduledExportRun.objects.select_related("schedule").get(pk=run_id)
    if run.status == ScheduledExportRun.Status.RUNNING and run.job_id is None:
        schedules.execute(run)
