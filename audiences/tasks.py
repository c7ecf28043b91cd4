"""Background tasks for audiences (run by `manage.py worker`)."""

from django.tasks import task

from audiences import services


@task()
def run_audience_job(job_id: int) -> None:
    services.run_audience_job(job_id)


@task()
def refresh_audience_sizes() -> None:
    services.refresh_sizes()
