from django.core.management.base import BaseCommand

from console.jobs import prune_expired_exports


class Command(BaseCommand):
    help = "Delete the files of exports whose download link has expired (the log rows stay)."

    def handle(self, *args, **options):
        pruned = prune_expired_exports()
        self.stdout.write(f"Deleted {pruned} expired export file(s).")
