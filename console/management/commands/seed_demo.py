from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from console.demo_data import seed_audiences, seed_cards, seed_demo, seed_wholesale
from customers.models import Customer


class Command(BaseCommand):
    help = "Load the deterministic demo data set once (skipped when customers already exist)."

    def add_arguments(self, parser):
        parser.add_argument("--customers", type=int, default=3000)

    def handle(self, *args, customers, **options):
        if Customer.objects.exists():
            self.stdout.write("Demo data already present; nothing to do.")
            return
        counts = seed_demo(customers=customers)
        # Place every member by the rank policy, so the demo's ranks agree with its rules.
        from ranks.services import recalculate_all

        recalculate_all()
        seed_audiences()  # after the ranks, which the dynamic one names
        # Decided by a Sales user when one exists (`make run` creates the demo staff first).
        staff = get_user_model().objects
        seed_wholesale(reviewer=staff.filter(groups__name="Sales").first())
        counts["tourist cards activated"] = seed_cards(
            clerk=staff.filter(groups__name="Customer care").first()
        )
        self.stdout.write(
            self.style.SUCCESS(", ".join(f"{value:,} {name}" for name, value in counts.items()))
        )
