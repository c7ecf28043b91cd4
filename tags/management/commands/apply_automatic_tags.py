from django.core.management.base import BaseCommand, CommandError

from customers.bulk import start_bulk_change
from customers.models import BulkChange
from tags.models import Tag


class Command(BaseCommand):
    help = (
        "Bring every automatic tag (or one, --tag SLUG) in line with its rule: add it to the "
        "customers who now match, remove it from those who no longer do. Set-based; one "
        "transaction per tag; a rule that fails is recorded on its tag and the others still "
        "run. Run it from cron, e.g. nightly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tag", help="Slug of one automatic tag.")

    def handle(self, *args, tag=None, **options):
        if tag and not Tag.objects.filter(kind=Tag.Kind.AUTOMATIC, slug=tag).exists():
            raise CommandError(f"No automatic tag with the slug {tag!r}.")
        job = start_bulk_change(
            kind=BulkChange.Kind.RULES,
            actor=None,
            parameters={"slug": tag} if tag else {},
            via="command",
            run_now=True,
        )
        if job.status == BulkChange.Status.FAILED:
            raise CommandError(job.error)
        failed = 0
        for name, outcome in job.outcome.items():
            if isinstance(outcome, str):
                failed += 1
                self.stderr.write(f"{name}: not applied — {outcome}")
            else:
                added, removed = outcome
                self.stdout.write(f"{name}: {added:,} added, {removed:,} removed")
        if failed:
            raise CommandError(f"{failed} rule(s) could not be applied; nothing changed for them.")
