"""The personal-data access log: one row each time staff see or take a customer's personal
data, for the data-protection officer's "who saw this?"; pruned after the retention days."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from customers.models import PersonalDataAccess

Kind = PersonalDataAccess.Kind


def record(*, user, kind: str, customer=None, detail: str = "") -> None:
    """One access by a signed-in user (anonymous and system reads are not staff access)."""
    if user is None or not user.is_authenticated:
        return
    PersonalDataAccess.objects.create(user=user, customer=customer, kind=kind, detail=detail[:255])


def prune(*, now=None) -> int:
    """Delete the entries older than PII_LOG_RETENTION_DAYS, set-based; returns how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.PII_LOG_RETENTION_DAYS)
    deleted, _by_model = PersonalDataAccess.objects.filter(at__lt=cutoff).delete()
    return deleted
