from django.core.management.base import BaseCommand

from cards.services import expire_due


class Command(BaseCommand):
    help = "Expire the active tourist cards whose validity has ended (run daily; idempotent)."

    def handle(self, *args, **options):
        expired = expire_due()
        self.stdout.write(f"{expired:,} tourist card(s) expired.")
