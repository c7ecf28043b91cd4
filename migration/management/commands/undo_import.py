from django.core.management.base import BaseCommand, CommandError

from migration.models import ImportJob
from migration.undo import UndoRefused, undo


class Command(BaseCommand):
    help = (
        "Undo an import: delete the customers it created and restore the values it changed. "
        "Refuses when customers were changed since, unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)
        parser.add_argument(
            "--force", action="store_true", help="Restore even customers changed since."
        )

    def handle(self, *args, job_id, force, **options):
        job = ImportJob.objects.filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"There is no import #{job_id}.")
        try:
            counts = undo(job, force=force)
        except UndoRefused as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Import #{job.pk} undone: {counts['deleted']:,} customers deleted, "
                f"{counts['restored']:,} restored."
            )
        )
