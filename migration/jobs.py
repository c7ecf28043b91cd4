"""Import jobs: take an upload, configure it, run it (in the worker or the command), retry it.

The wizard and `manage.py import_customers` both go through these functions, and both leave an
ImportJob with who, when, the file, the settings, the counts and the error file.
"""

import logging
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.files import FileRejected, estimate_rows, open_source
from core.jobs import fail_stalled_of
from customers.models import CustomFieldDefinition
from migration import fields as f
from migration.engine import run_import
from migration.models import ImportJob, MatchKey

logger = logging.getLogger("loyalty.imports")


def create_job(*, upload, name: str, user, via: str = "web", **options) -> ImportJob:
    """Store an uploaded file as a draft job with its headers and a suggested mapping.

    `upload` is a Django File (or UploadedFile); raises FileRejected with the reason when the
    file cannot be imported at all.
    """
    job = ImportJob(original_name=Path(name).name[:255], created_by=user, via=via, **options)
    job.file.save(Path(name).name, upload, save=False)
    try:
        source = source_of(job)
    except BaseException:
        job.file.delete(save=False)  # a refused (or unreadable) upload is not kept
        raise
    job.file_format = source.file_format
    job.encoding, job.delimiter, job.sheet = source.encoding, source.delimiter, source.sheet
    job.headers = source.headers
    job.mapping, job.mapped_by = f.suggest(source.headers, active_definitions())
    job.save()
    logger.info("import %s: file stored by user %s", job.pk, user.pk if user else None)
    return job


def active_definitions():
    return list(CustomFieldDefinition.objects.filter(is_active=True))


def source_of(job: ImportJob):
    """The job's stored file, opened (and checked) with its settings."""
    return open_source(
        Path(job.file.path),
        job.original_name,
        encoding=job.encoding,
        delimiter=job.delimiter,
        sheet=job.sheet,
        checked=bool(job.file_format),  # set once the stored file passed every check
    )


def check_mapping(mapping: dict[str, str], headers: list[str], match_key: str) -> dict[str, str]:
    """The mapping with unmapped columns dropped; ValidationError lists every problem."""
    known = dict(f.target_choices(active_definitions()))
    cleaned, problems, used = {}, [], {}
    for position, name in mapping.items():
        if not name:
            continue
        index = int(position)
        header = headers[index] if index < len(headers) else f"#{index + 1}"
        if name not in known:
            problems.append(
                _("Column “%(column)s”: “%(field)s” is not a field.")
                % {"column": header, "field": name}
            )
        elif name in used:
            problems.append(
                _("Columns “%(first)s” and “%(second)s” are both mapped to %(field)s.")
                % {
                    "first": used[name],
                    "second": header,
                    "field": known[name],
                }
            )
        else:
            used[name] = header
            cleaned[str(index)] = name
    if match_key not in cleaned.values():
        problems.append(
            _("Map a column to %(key)s: it is the match key that finds existing customers.")
            % {"key": MatchKey(match_key).label}
        )
    if problems:
        raise ValidationError(problems)
    return cleaned


def unmapped_columns(job: ImportJob) -> list[str]:
    mapped = {int(position) for position in job.mapping}
    return [
        header or f"#{position + 1}"
        for position, header in enumerate(job.headers)
        if position not in mapped
    ]


def queue(job: ImportJob, *, dry_run: bool) -> ImportJob:
    """Hand a configured job to the worker."""
    if job.is_active:
        raise ValidationError(_("This import is already running."), code="busy")
    job.dry_run = dry_run
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["dry_run", "status"])
    job.enqueue()
    return job


def import_of(dry: ImportJob) -> ImportJob | None:
    """The import made from a dry run, unless it failed (then the dry run may run again)."""
    return dry.runs.exclude(status=ImportJob.Status.FAILED).first()


@transaction.atomic
def run_for_real(dry: ImportJob, *, user) -> ImportJob:
    """A new job with the file and settings of a finished dry run, queued to write. Two
    requests at once (a double click) make one job: the dry run's row is locked, and the
    database holds one live run per dry run."""
    dry = ImportJob.objects.select_for_update().get(pk=dry.pk)
    if not dry.dry_run or dry.status != ImportJob.Status.DONE:
        raise ValidationError(_("Only a finished dry run can be run for real."), code="not_dry")
    earlier = import_of(dry)
    if earlier is not None:
        raise ValidationError(
            _("This dry run was already imported as import %(id)s.") % {"id": earlier.pk},
            code="already_run",
        )
    job = ImportJob.objects.create(
        dry_run_of=dry,
        created_by=user,
        **{name: getattr(dry, name) for name in ImportJob.RUN_SETTINGS},
    )
    return queue(job, dry_run=False)


def run_job(job_id: int, progress=None) -> ImportJob:
    """Run a queued job; a crash marks it failed with the reason (and nothing is written)."""
    job, claimed = ImportJob.claim(job_id, finished_at=None, rows_done=0)
    if not claimed:
        return job
    try:
        source = source_of(job)
        job.total_rows = estimate_rows(source)
        ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        result = run_import(job, source, actor=job.created_by, progress=progress)
    except Exception as error:
        if not isinstance(error, FileRejected):
            # The kind of error only: a database error's message can quote a customer's data.
            logger.error("import %s failed: %s", job.pk, type(error).__name__)
        job.fail(_failure(error))
        return job
    job.total_rows = job.rows_done = result.total
    job.created_count, job.updated_count = result.created, result.updated
    job.unchanged_count, job.failed_count = result.unchanged, result.failed
    job.preview = result.preview
    job.notes = [
        _("Column “%(column)s” is not mapped; it was ignored.") % {"column": column}
        for column in unmapped_columns(job)
    ]
    if (
        not job.dry_run
        and result.written
        and not (result.created or result.updated)
        and result.failed < result.total
    ):
        job.notes.append(_("Nothing changed: every row matches what is already stored."))
    if result.error_path is not None:
        with result.error_path.open("rb") as handle:
            job.error_file.save(f"import-{job.pk}-problems.xlsx", File(handle), save=False)
        result.error_path.unlink()
    if not job.dry_run and result.failed and result.failed == result.total:
        job.status = ImportJob.Status.FAILED
        job.error = _(
            "Every row has problems (%(count)s): nothing was imported. Correct the rows listed "
            "in the error file and import it again."
        ) % {"count": result.failed}
    elif not job.dry_run and result.failed and not result.written:
        job.status = ImportJob.Status.FAILED
        job.error = _(
            "%(count)s rows have problems, and the policy is “all or nothing”: nothing was "
            "written. Correct the rows listed in the error file, or choose “skip invalid rows”."
        ) % {"count": result.failed}
    else:
        job.status = ImportJob.Status.DONE
    job.finished_at = timezone.now()
    job.save()
    logger.info(
        "import %s: %s rows, %s created, %s updated, %s unchanged, %s failed%s",
        job.pk,
        result.total,
        result.created,
        result.updated,
        result.unchanged,
        result.failed,
        " (dry run)" if job.dry_run else "",
    )
    return job


def _failure(error: Exception) -> str:
    """The reason a run failed, as the job page shows it."""
    if isinstance(error, FileRejected):
        return str(error)
    # The writer thread's errors come from the driver itself (class 23: integrity).
    if isinstance(error, IntegrityError) or str(getattr(error, "pgcode", "")).startswith("23"):
        return _(
            "While this import ran, another import or an edit saved a customer with one of the "
            "same identifiers (email, phone, member number or old member ID); nothing was "
            "written. Run the import again: its rows now meet that customer. (%(detail)s)"
        ) % {"detail": str(error).splitlines()[0]}
    return f"{type(error).__name__}: {error}"


def fail_stalled(now=None) -> int:
    """Mark running imports whose worker stopped reporting as failed, ready to retry.

    A worker that dies (killed, machine restarted) takes its transaction with it, so nothing of
    the import was written; only the job row still says "running". Returns how many it marked.
    """
    return fail_stalled_of(ImportJob, now or timezone.now())


def retry(job: ImportJob) -> ImportJob:
    if job.is_stalled():
        fail_stalled()
        job.refresh_from_db()
    if job.status != ImportJob.Status.FAILED:
        raise ValidationError(_("Only a failed import can be retried."), code="not_failed")
    return queue(job, dry_run=job.dry_run)
