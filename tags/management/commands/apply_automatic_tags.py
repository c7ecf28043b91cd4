from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from tags.models import Tag
from tags.services import apply_rule


class Command(BaseCommand):
    help = (
        "Bring every automatic tag (or one, --tag SLUG) in line with its rule: add it to the "
        "customers who now match, remove it from those who no longer do. Set-based; one "
        "transaction per tag. Run it from cron, e.g. nightly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tag", help="Slug of one automatic tag.")

    def handle(self, *args, tag=None, **options):
        tags = Tag.objects.filter(kind=Tag.Kind.AUTOMATIC).order_by("name")
        if tag:
            tags = tags.filter(slug=tag)
            if not tags.exists():
                raise CommandError(f"No automatic tag with the slug {tag!r}.")
        failed = 0
        for item in tags:
            try:
                added, removed = apply_rule(item)
            except ValidationError as error:
                failed += 1
                self.stderr.write(f"{item.name}: not applied — {' '.join(error.messages)}")
                continue
            self.stdout.write(f"{item.name}: {added:,} added, {removed:,} removed")
        if failed:
            raise CommandError(f"{failed} rule(s) could not be applied; nothing changed for them.")
