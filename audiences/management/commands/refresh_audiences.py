"""`manage.py refresh_audiences`: count every audience again (the sizes the audience list shows)."""

from django.core.management.base import BaseCommand

from audiences.services import refresh_sizes


class Command(BaseCommand):
    help = "Count the members of every live audience and keep the counts on the audience list."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=int,
            default=0,
            metavar="MINUTES",
            help="Only audiences counted longer ago than this.",
        )

    def handle(self, *args, older_than, **options):
        count = refresh_sizes(older_than_minutes=older_than)
        self.stdout.write(f"{count} audience(s) counted.")
