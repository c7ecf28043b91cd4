"""Re-evaluate a customer's rank after activity the app records (orders, points movements).

Bulk writers (the COPY-based benchmark loader, imports) bypass these signals and evaluate the
customers they touched with the set-based engine instead.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from customers.models import Order, PointsTransaction
from ranks.services import evaluate_customer


@receiver(post_save, sender=Order, dispatch_uid="ranks_after_order")
@receiver(post_save, sender=PointsTransaction, dispatch_uid="ranks_after_points")
def evaluate_after_activity(sender, instance, raw=False, **kwargs):
    if raw:  # fixtures
        return
    customer_id = instance.customer_id
    transaction.on_commit(lambda: evaluate_customer(customer_id))
