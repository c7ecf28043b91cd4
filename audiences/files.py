"""Members from a file of identifiers: checked by the safe file reader (as imports are), read
whole in a job, then added or removed in one transaction; the lines that name no one come
back as a CSV."""

import csv
import io
from pathlib import Path

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from audiences.models import Audience, AudienceChange, AudienceJob, AudienceMember
from audiences.services import (
    after_members_changed,
    ids_sql,
    insert_members,
    refuse_dynamic,
    run_job,
)
from core.files import FileRejected, open_source
from core.xlsx_safety import escape_csv
from customers.models import Customer
from customers.selectors import ids_by_identifier

# Identifiers looked up per query when reading a file.
FILE_BATCH = 2_000


def start_file_job(*, audience: Audience, upload, remove: bool, actor) -> AudienceJob:
    """Check the uploaded file as imports do (content, encoding, caps) and queue its run."""
    refuse_dynamic(audience)
    job = AudienceJob(
        audience=audience,
        kind=AudienceJob.Kind.FILE_REMOVE if remove else AudienceJob.Kind.FILE_ADD,
        created_by=actor,
        upload_name=Path(upload.name).name[:255],
    )
    job.upload.save(Path(upload.name).name, upload, save=False)
    try:
        open_source(Path(job.upload.path), job.upload_name)
    except FileRejected:
        job.upload.delete(save=False)
        raise
    job.save()
    job.enqueue()
    return job


def _no_one() -> str:
    return _("No customer has this member number, email, mobile number or old member ID.")


def _apply_file(job: AudienceJob) -> dict:
    """Read the file's first column as identifiers; add (or remove) the customers they name in
    one transaction at the end, so a failure writes nothing. Unmatched lines go to an error
    file; duplicates are counted and skipped."""
    source = open_source(Path(job.upload.path), job.upload_name)
    total = 0
    seen_ids: set[int] = set()
    unmatched: list[tuple[int, str, str]] = []
    duplicates = 0
    batch: list[tuple[int, str]] = []

    def flush():
        nonlocal duplicates
        found = ids_by_identifier([value for _number, value in batch])
        for number, value in batch:
            pk = found.get(value)
            if pk is None:
                unmatched.append((number, value, _no_one()))
            elif pk in seen_ids:
                duplicates += 1
            else:
                seen_ids.add(pk)
        batch.clear()
        job.beat(rows_done=total)

    for number, cells in source.rows():
        value = str(cells[0] if cells and cells[0] is not None else "").strip()
        if value.endswith(".0") and value[:-2].isdigit():  # a number cell read as a float
            value = value[:-2]
        total += 1
        if not value:
            unmatched.append((number, value, _("The first cell is empty.")))
            continue
        batch.append((number, value))
        if len(batch) >= FILE_BATCH:
            flush()
    if batch:
        flush()
    audience, actor = job.audience, job.created_by
    ids = sorted(seen_ids)
    with transaction.atomic():
        if job.kind == AudienceJob.Kind.FILE_ADD:
            changed = 0
            for start in range(0, len(ids), 10_000):
                chunk = Customer.objects.filter(pk__in=ids[start : start + 10_000])
                changed += insert_members(
                    audience, *ids_sql(chunk), source=AudienceMember.Source.FILE, actor=actor
                )
            action = AudienceChange.Action.ADDED
        else:
            changed = 0
            for start in range(0, len(ids), 10_000):
                changed += AudienceMember.objects.filter(
                    audience=audience, customer_id__in=ids[start : start + 10_000]
                ).delete()[0]
            action = AudienceChange.Action.REMOVED
        after_members_changed(
            audience,
            action,
            changed,
            actor,
            _("%(n)s customers from the file “%(file)s”")
            % {"n": f"{changed:,}", "file": job.upload_name},
        )
    if unmatched:
        _write_error_file(job, unmatched)
    return {
        "lines": total,
        "matched": len(ids),
        "changed": changed,
        "unchanged": len(ids) - changed,
        "duplicates": duplicates,
        "unmatched": len(unmatched),
    }


def _write_error_file(job: AudienceJob, unmatched: list[tuple[int, str, str]]) -> None:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Row"), _("Value"), _("Problem")])
    for number, value, problem in unmatched:
        writer.writerow([number, escape_csv(value), problem])
    job.error_file.save(
        f"unmatched-{job.pk}.csv", ContentFile(out.getvalue().encode("utf-8-sig")), save=False
    )
    AudienceJob.objects.filter(pk=job.pk).update(error_file=job.error_file.name)


def run_file_job(job_id: int) -> AudienceJob:
    return run_job(job_id, _apply_file)
