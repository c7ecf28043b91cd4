import csv
import io
import unicodedata
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
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    text = buffer.getvalue()
    if encoding == "cp1258":
        return to_cp1258(text)
    return text.encode(encoding)


TONES = "\u0300\u0301\u0303\u0309\u0323"


def to_cp1258(text: str) -> bytes:
    """Windows-1258 as old Vietnamese software writes it: letters with circumflex, breve or
    horn precomposed, the tone mark as a combining character after them."""
    out = []
    for char in text:
        try:
            out.append(char.encode("cp1258"))
        except UnicodeEncodeError:
            decomposed = unicodedata.normalize("NFD", char)
            tones = "".join(mark for mark in decomposed if mark in TONES)
            base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONES))
            out.append(base.encode("cp1258") + tones.encode("cp1258"))
    return b"".join(out)


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
