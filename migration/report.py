"""What an import reports as it runs: the error file of rejected rows and the published progress."""

import logging
import os
import tempfile
from pathlib import Path

from django.db import connection, connections
from django.utils.translation import gettext as _

from core.xlsx_stream import XlsxStreamWriter
from migration import fields as f
from migration.models import ImportJob
from migration.progress import clear as clear_progress
from migration.progress import publish as publish_progress
from migration.rows import ParsedRow

logger = logging.getLogger("loyalty.imports")


class ErrorFile:
    """The downloadable list of problems: one line per problem with the original row."""

    def __init__(self, headers: list[str]):
        self.path = None  # a temporary file of its own, made at the first problem
        self.headers = headers
        self.workbook = None
        self.line = 0

    def add(self, row: ParsedRow) -> None:
        if self.workbook is None:
            handle, name = tempfile.mkstemp(suffix=".xlsx")
            os.close(handle)
            self.path = Path(name)
            self.workbook = XlsxStreamWriter(
                self.path, [_("Row"), _("Column"), _("Problem"), *self.headers], str(_("Problems"))
            )
        original = [f.text(cell) if cell not in (None, "") else None for cell in row.cells]
        for column_name, message in row.errors:
            self.line += 1
            self.workbook.write_row([row.number, column_name, message, *original])

    def close(self) -> Path | None:
        if self.workbook is None:
            return None
        self.workbook.close()
        return self.path


class Progress:
    """Rows done, where the job page sees them while the import's own transaction is still
    open: the job row, written from a second connection, on PostgreSQL; on SQLite (one writer
    at a time) a file beside the uploads (`migration.progress`)."""

    def __init__(self, job: ImportJob | None, callback=None):
        self.job, self.callback, self.side, self.published = job, callback, None, False
        if job is not None and job.pk:
            if connection.vendor == "postgresql":
                self.side = connections.create_connection("default")
            else:
                self.published = True
                clear_progress(job.pk)  # a failed earlier run's count is not this run's

    def __call__(self, done: int, total: int | None) -> None:
        if self.side is not None:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET rows_done = %s,"  # noqa: S608
                    " heartbeat_at = now() WHERE id = %s",
                    [done, self.job.pk],
                )
        elif self.published:
            publish_progress(self.job.pk, done)
        if self.callback is not None:
            self.callback(done, total)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
        if self.published:
            clear_progress(self.job.pk)
