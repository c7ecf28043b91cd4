"""Background tasks for customers (run by `manage.py worker`)."""

from django.tasks import task

from customers import bulk


@task()
def run_bulk_change(job_id: int) -> None:
    bulk.run_bulk_change(job_id)
