"""Background tasks for audiences (run by `manage.py worker`)."""

from django.tasks import task

from audiences import files, services
from audiences.models import AudienceJob


@task()
def run_audience_job(job_id: int) -> None:
    """Run an audience job of either sort: a snapshot or freeze, or a file of identifiers."""
    kind = AudienceJob.objects.values_list("kind", flat=True).get(pk=job_id)
    if kind in (AudienceJob.Kind.FILE_ADD, AudienceJob.Kind.FILE_REMOVE):
        files.run_file_job(job_id)
    else:
        services.run_snapshot_job(job_id)
