"""Background tasks for the console (run by the task worker)."""

from django.tasks import task

from console.jobs import run_export_job


@task()
def export_customers_task(job_id: int) -> None:
    run_export_job(job_id)
