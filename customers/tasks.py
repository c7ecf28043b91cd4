"""Background tasks for customers (run by `manage.py db_worker`)."""

from django.tasks import task

from customers.jobs import run_export_job


@task()
def export_customers_task(job_id: int) -> None:
    run_export_job(job_id)
