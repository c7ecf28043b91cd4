import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from console.exports import DEFAULT_EXPORT_COLUMNS, WRITERS, export_queryset, resolve_columns
from console.jobs import create_export_job
from customers.models import ExportJob


class Command(BaseCommand):
    help = (
        "Export the customers a list filter selects to XLSX or CSV (same code as the web "
        "export), showing progress. Suitable for cron or a systemd timer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--filter", default="", help='List query string, e.g. "city=Hà Nội"')
        parser.add_argument(
            "--columns",
            default=",".join(DEFAULT_EXPORT_COLUMNS),
            help="Comma-separated column keys.",
        )
        parser.add_argument("--output", required=True, help="File to write (.xlsx or .csv).")

    def handle(self, *args, filter, columns, output, **options):
        file_format = "csv" if output.lower().endswith(".csv") else "xlsx"
        keys = [key.strip() for key in columns.split(",") if key.strip()]
        try:
            job = create_export_job(
                user=None, query_string=filter, columns=keys, file_format=file_format, via="command"
            )
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        queryset = export_queryset(job)
        total = queryset.order_by().count()
        job.status, job.total_rows = ExportJob.Status.RUNNING, total
        job.save(update_fields=["status", "total_rows"])

        def progress(rows: int) -> None:
            percent = 100 * rows // total if total else 100
            sys.stderr.write(f"\r{rows:,} / {total:,} rows ({percent}%)")
            sys.stderr.flush()

        try:
            rows = WRITERS[file_format](output, queryset, resolve_columns(keys), progress=progress)
        except Exception as error:
            job.status, job.error = ExportJob.Status.FAILED, f"{type(error).__name__}: {error}"
            job.save(update_fields=["status", "error"])
            raise CommandError(f"Export failed: {error}") from error
        sys.stderr.write("\n")
        job.status, job.rows_done = ExportJob.Status.DONE, rows
        job.save(update_fields=["status", "rows_done"])
        self.stdout.write(self.style.SUCCESS(f"Wrote {rows:,} customers to {output}"))
