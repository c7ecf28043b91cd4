"""Export jobs: create, run, and record every export (who, filter, row count)."""

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.utils import timezone
from django.utils.translation import gettext as _

from console.exports import PERSONAL_COLUMNS, WRITERS, export_queryset, resolve_columns
from customers import access_log
from customers.models import ExportJob
from customers.selectors import customers_matching, describe_filter

logger = logging.getLogger("loyalty.exports")


def create_export_job(
    *,
    user,
    query_string: str,
    columns: list[str],
    file_format: str,
    selected_ids: list[int] | None = None,
    via: str = "web",
    label: str = "",
) -> ExportJob:
    """Validate the request and record the export; raise ValidationError on a bad filter.
    `label` names what made it (a schedule) before the filter in words on the export log."""
    if file_format not in WRITERS:
        raise ValidationError(
            _("Unknown export format “%(format)s”."), params={"format": file_format}
        )
    if not columns:
        raise ValidationError(_("Choose at least one column."), code="no_columns")
    try:
        resolve_columns(columns, user=user)
    except ValueError as error:
        raise ValidationError(str(error), code="bad_columns") from None
    matching = customers_matching(query_string)  # raises on an invalid filter
    _refuse_over_the_cap(matching.filter(pk__in=selected_ids) if selected_ids else matching)
    job = ExportJob.objects.create(
        created_by=user,
        query_string=query_string.lstrip("?"),
        description=": ".join(
            filter(None, [label, describe_filter(query_string.lstrip("?")) or _("All customers")])
        ),
        selected_ids=selected_ids or [],
        columns=columns,
        file_format=file_format,
        via=via,
    )
    personal = [key for key in columns if key in PERSONAL_COLUMNS]
    if personal:
        access_log.record(
            user=user,
            kind=access_log.Kind.EXPORTED,
            detail=_("Export %(id)s: %(columns)s") % {"id": job.pk, "columns": ", ".join(personal)},
        )
    return job


def _refuse_over_the_cap(queryset) -> None:
    """Refuse an export of more than EXPORT_MAX_ROWS rows, saying how many it would hold
    (counted up to the cap and one more, then exactly only when over)."""
    cap = settings.EXPORT_MAX_ROWS
    if not cap:
        return
    rows = queryset.order_by().values("pk")
    if rows[: cap + 1].count() <= cap:
        return
    raise ValidationError(
        _(
            "This export would hold %(count)s rows; at most %(cap)s are exported at once "
            "(EXPORT_MAX_ROWS). Narrow the filter."
        ),
        params={"count": f"{rows.count():,}", "cap": f"{cap:,}"},
        code="too_many_rows",
    )


def is_small(job: ExportJob) -> bool:
    """Whether the export is small enough to download at once instead of as a job."""
    queryset = export_queryset(job).order_by().values("pk")
    limit = settings.EXPORT_SYNC_ROW_LIMIT
    return queryset[: limit + 1].count() <= limit


def _filename(job: ExportJob) -> str:
    return f"customers-{job.pk}-{job.created_at:%Y%m%d-%H%M}.{job.file_format}"


def run_export_job(job_id: int, progress=None) -> ExportJob:
    """Write the job's file into media storage; mark it failed with the reason on any error."""
    job, claimed = ExportJob.claim(job_id, rows_done=0)
    if not claimed:
        return job

    def report(rows: int) -> None:
        job.beat(rows_done=rows)
        if progress is not None:
            progress(rows, job.total_rows)

    try:
        queryset = export_queryset(job)
        job.total_rows = queryset.order_by().count()
        ExportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        columns = resolve_columns(job.columns)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / _filename(job)
            rows = WRITERS[job.file_format](
                path, queryset, columns, progress=report, cut=lambda n: setattr(job, "cells_cut", n)
            )
            with path.open("rb") as handle:
                job.file.save(_filename(job), File(handle), save=False)
            job.file_size = path.stat().st_size
    except Exception as error:
        logger.exception("export job %s failed", job.pk)
        job.fail(error)
        return job
    now = timezone.now()
    job.finish(
        rows_done=rows,
        cells_cut=job.cells_cut,
        file=job.file,
        file_size=job.file_size,
        finished_at=now,
        expires_at=now + settings.EXPORT_LINK_LIFETIME,
    )
    logger.info("export job %s wrote %s rows", job.pk, rows)
    prune_expired_exports()
    return job


def prune_expired_exports(now=None) -> int:
    """Delete the files of exports whose link has expired; the job row stays as the log.

    Runs after every export job and from `manage.py prune_exports` (cron), so expired files do
    not pile up in media storage.
    """
    now = now or timezone.now()
    expired = ExportJob.objects.filter(expires_at__lte=now).exclude(file="")
    pruned = 0
    for job in expired.only("pk", "file").iterator():
        job.file.delete(save=False)
        ExportJob.objects.filter(pk=job.pk).update(file="")
        pruned += 1
    if pruned:
        logger.info("pruned %s expired export files", pruned)
    return pruned
