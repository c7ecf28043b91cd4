from django.core.management.base import BaseCommand

from console.schedules import run_due


class Command(BaseCommand):
    help = (
        "Run the scheduled exports that are due. Safe to call every minute from cron or a "
        "systemd timer on several machines: each occurrence runs once."
    )

    def handle(self, *args, **options):
        runs = run_due()
        for run in runs:
            outcome = (
                f"{run.rows:,} rows" if run.status == run.Status.DONE else f"failed: {run.error}"
            )
            self.stdout.write(f"{run.schedule.name}: {outcome}")
        self.stdout.write(self.style.SUCCESS(f"{len(runs)} scheduled export(s) run."))
