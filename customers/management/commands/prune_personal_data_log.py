from django.core.management.base import BaseCommand

from customers import access_log


class Command(BaseCommand):
    help = "Delete personal-data access log entries older than PII_LOG_RETENTION_DAYS."

    def handle(self, *args, **options):
        deleted = access_log.prune()
        self.stdout.write(f"{deleted:,} access log entries pruned.")
