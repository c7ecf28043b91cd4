import time

from django.core.management.base import BaseCommand, CommandError

from ranks.models import RankPolicy
from ranks.services import RecalculationBusy, recalculate_all


class Command(BaseCommand):
    help = (
        "Recalculate every customer's rank under the current policy (set-based, one "
        "transaction). Run it nightly from cron or a systemd timer; it refuses to run beside "
        "another recalculation."
    )

    def handle(self, *args, **options):
        self.stdout.write(RankPolicy.current().sentence())
        started = time.perf_counter()
        try:
            counts = recalculate_all()
        except RecalculationBusy as error:
            raise CommandError(" ".join(error.messages)) from None
        seconds = time.perf_counter() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"{counts['upgraded']:,} moved up, {counts['downgraded']:,} moved down, "
                f"{counts['grace_started']:,} entered a grace period, "
                f"{counts['overrides_ended']:,} manual ranks ended ({seconds:.1f} s)."
            )
        )
