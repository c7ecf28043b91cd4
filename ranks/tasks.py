"""Background tasks for ranks (run by `manage.py worker`)."""

from django.tasks import task

from ranks.services import run_recalculation


@task()
def recalculate_ranks_task(job_id: int) -> None:
    run_recalculation(job_id)
