"""Reads the console composes from several domain apps."""

from django.utils.translation import gettext as _

from customers.models import Customer, CustomerEvent
from ranks.models import RankChange


def customer_timeline(customer: Customer, limit: int = 100) -> list[dict]:
    """Changes to the customer and to their rank, newest first, as one list. A customer an
    import created has no timeline row for it: their "Created" entry comes from the import
    they point to (`Customer.import_job`)."""
    entries = [
        {
            "created_at": event.created_at,
            "actor": event.actor,
            "title": event.get_kind_display(),
            "message": event.message,
            "changes": event.changes,
        }
        for event in CustomerEvent.objects.filter(customer=customer).select_related("actor")[:limit]
    ]
    for change in RankChange.objects.filter(customer=customer).select_related("actor")[:limit]:
        message = (
            f"{change.from_name or '—'} → {change.to_name or '—'} ({change.get_reason_display()})"
        )
        entries.append(
            {
                "created_at": change.created_at,
                "actor": change.actor,
                "title": _("Rank changed"),
                "message": f"{message} — {change.note}" if change.note else message,
                "changes": {},
            }
        )
    if customer.import_job_id is not None:
        job = customer.import_job
        entries.append(
            {
                "created_at": customer.created_at,
                "actor": job.created_by,
                "title": CustomerEvent.Kind.CREATED.label,
                "message": job.describe(_("Imported")),
                "changes": {},
            }
        )
    entries.sort(key=lambda entry: entry["created_at"], reverse=True)
    return entries[:limit]
