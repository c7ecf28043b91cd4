"""`manage.py freeze_audiences`: freeze the dynamic audiences whose freeze date has come (run it
daily from cron; the worker runs it too)."""

from django.core.management.base import BaseCommand

from audiences.services import freeze_due


class Command(BaseCommand):
    help = "Turn every dynamic audience whose freeze date has come into a static snapshot."

    def handle(self, *args, **options):
        jobs = freeze_due()
        for job in jobs:
            outcome = job.outcome.get("added", 0) if job.status == job.Status.DONE else job.error
            self.stdout.write(f"{job.audience.name}: {job.get_status_display()} ({outcome})")
        self.stdout.write(f"{len(jobs)} audience(s) frozen.")
