import json
import sys
import time
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from core.files import FileRejected
from migration import jobs
from migration.models import ImportJob, MappingProfile, MatchKey, Policy


class Command(BaseCommand):
    help = (
        "Import customers from a CSV or XLSX file with the same engine as the web wizard: "
        "validated, matched on a key, all-or-nothing or skipping invalid rows, recorded as an "
        "ImportJob that `undo_import` can undo. Exits non-zero when the import fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The .csv or .xlsx file.")
        parser.add_argument(
            "--mapping",
            help='A saved mapping profile\'s name, or JSON {"column header": "field"}. '
            "Without it, columns are mapped from their headers (English or Vietnamese).",
        )
        parser.add_argument(
            "--match-key",
            choices=MatchKey.values,
            help="Default: the profile's, else old_member_id.",
        )
        parser.add_argument("--policy", choices=Policy.values, default=Policy.ALL_OR_NOTHING)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )
        parser.add_argument("--sheet", default="", help="Workbook sheet (default: the first).")
        parser.add_argument("--encoding", default="", help="CSV encoding (default: detected).")
        parser.add_argument("--delimiter", default="", help="CSV delimiter (default: detected).")
        parser.add_argument("--create-tags", action="store_true", help="Create missing tags.")
        parser.add_argument(
            "--empty-clears", action="store_true", help="Empty cells clear stored values."
        )

    def handle(
        self,
        *args,
        file,
        mapping,
        match_key,
        policy,
        dry_run,
        sheet,
        encoding,
        delimiter,
        create_tags,
        empty_clears,
        **options,
    ):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        by_header, profile_key = self._mapping(mapping)
        try:
            with path.open("rb") as handle:
                job = jobs.create_job(
                    upload=File(handle),
                    name=path.name,
                    user=None,
                    via="command",
                    encoding=encoding,
                    delimiter=delimiter,
                    sheet=sheet,
                    match_key=match_key or profile_key or MatchKey.OLD_MEMBER_ID,
                    policy=policy,
                    create_tags=create_tags,
                    empty_clears=empty_clears,
                )
        except FileRejected as error:
            raise CommandError(str(error)) from None
        if by_header is not None:
            job.mapping, job.mapped_by = (
                {
                    str(position): by_header[header]
                    for position, header in enumerate(job.headers)
                    if by_header.get(header)
                },
                "",
            )
        try:
            job.mapping = jobs.check_mapping(job.mapping, job.headers, job.match_key)
        except ValidationError as error:
            job.status, job.error = ImportJob.Status.FAILED, "; ".join(error.messages)
            job.save()
            raise CommandError(job.error) from None
        if job.mapped_by:
            self.stdout.write(f"Recognised: {job.mapped_by} (a built-in mapping profile)")
        self.stdout.write(
            "Mapping: "
            + ", ".join(
                f"{job.headers[int(position)]} → {field}" for position, field in job.mapping.items()
            )
        )
        job.dry_run, job.status = dry_run, ImportJob.Status.QUEUED
        job.save()
        started = time.monotonic()

        def progress(done, total):
            rate = done / max(time.monotonic() - started, 1e-6)
            share = f" ({100 * done // total}%)" if total else ""
            sys.stderr.write(f"\r{done:,} rows{share}, {rate:,.0f} rows/s")
            sys.stderr.flush()

        job = jobs.run_job(job.pk, progress=progress)
        sys.stderr.write("\n")
        self.stdout.write(
            f"Import #{job.pk}{' (dry run)' if job.dry_run else ''}: "
            f"{job.total_rows or 0:,} rows — "
            f"{job.created_count:,} created, {job.updated_count:,} updated, "
            f"{job.unchanged_count:,} unchanged, {job.failed_count:,} with problems"
        )
        for note in job.notes:
            self.stdout.write(f"Note: {note}")
        if job.error_file:
            self.stdout.write(f"Problems: {job.error_file.path}")
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(job.error)
        self.stdout.write(
            self.style.SUCCESS("Dry run: nothing was written." if job.dry_run else "Done.")
        )

    def _mapping(self, value):
        if not value:
            return None, None
        profile = MappingProfile.objects.filter(name=value).first()
        if profile is not None:
            return profile.mapping, profile.match_key
        try:
            mapping = json.loads(value)
        except ValueError:
            raise CommandError(
                f"--mapping is neither a saved profile nor JSON: {value!r}"
            ) from None
        if not isinstance(mapping, dict):
            raise CommandError('--mapping JSON must be an object: {"column header": "field"}')
        return mapping, None
