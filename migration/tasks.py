"""Background tasks for imports (run by `manage.py worker`)."""

from django.tasks import task

from migration import jobs, undo


@task()
def import_customers_task(job_id: int) -> None:
    jobs.run_job(job_id)


@task()
def undo_import_task(job_id: int, actor_id: int | None, force: bool) -> None:
    undo.run_undo(job_id, actor_id, force)
