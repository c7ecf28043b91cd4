import io
from pathlib import Path

import pytest
import xlsxwriter
from django.core.files import File

from migration import jobs
from migration.models import ImportJob


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORT_BATCH_SIZE = 3  # several batches even in small files


def csv_bytes(rows: list[list], *, delimiter: str = ",", encoding: str = "utf-8") -> bytes:
    text = "\r\n".join(delimiter.join(str(cell) for cell in row) for row in rows) + "\r\n"
    return text.encode(encoding)


def xlsx_bytes(rows: list[list], sheet: str = "Sheet1", extra_sheets=()) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    for name, content in [*extra_sheets, (sheet, rows)]:
        worksheet = workbook.add_worksheet(name)
        for r, row in enumerate(content):
            for c, value in enumerate(row):
                worksheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def upload(tmp_path: Path, name: str, content: bytes, user=None, **options) -> ImportJob:
    path = tmp_path / name
    path.write_bytes(content)
    with path.open("rb") as handle:
        return jobs.create_job(upload=File(handle), name=name, user=user, **options)


def run(job: ImportJob, *, dry_run: bool = False, mapping: dict | None = None, **options):
    if mapping is not None:
        job.mapping = {str(k): v for k, v in mapping.items()}
    for key, value in options.items():
        setattr(job, key, value)
    job.mapping = jobs.check_mapping(job.mapping, job.headers, job.match_key)
    job.dry_run, job.status = dry_run, ImportJob.Status.QUEUED
    job.save()
    return jobs.run_job(job.pk)


@pytest.fixture
def import_file(tmp_path, db):
    """Upload `rows` (CSV by default, or XLSX) and run it; returns the finished job."""

    def go(
        rows,
        *,
        name="customers.csv",
        dry_run=False,
        mapping=None,
        content=None,
        upload_options=None,
        **options,
    ):
        if content is None:
            content = xlsx_bytes(rows) if name.endswith(".xlsx") else csv_bytes(rows)
        job = upload(tmp_path, name, content, **(upload_options or {}))
        return run(job, dry_run=dry_run, mapping=mapping, **options)

    return go
