"""Reads of the wholesale workflow: the conditions, the queue and its tab counts, the customers
an application matches, its checklist, earlier applications, the dashboard's figures."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import day_end, day_start
from customers.models import Customer
from customers.search_text import anywhere_pattern, search_terms
from customers.selectors import capped_count
from wholesale.models import (
    OPEN_STATUSES,
    DocumentKind,
    Status,
    WholesaleApplication,
    WholesaleConditions,
)
from wholesale.tax_id import is_valid_tax_id

DEFAULT_REJECT_REASONS = [
    "The business registration could not be verified.",
    "The expected order value is below our wholesale minimum.",
    "We do not serve wholesale customers in this area yet.",
]
TABS = ("pending", "needs_info", "approved", "rejected", "all")


def get_conditions(*, for_update: bool = False) -> WholesaleConditions:
    """The one row of conditions, created with its defaults on first use."""
    rows = WholesaleConditions.objects.select_for_update() if for_update else None
    conditions = (rows or WholesaleConditions.objects).filter(pk=1).first()
    if conditions is None:
        conditions, _created = WholesaleConditions.objects.get_or_create(
            pk=1,
            defaults={
                "required_documents": [DocumentKind.BUSINESS_LICENCE.value],
                "reject_reasons": DEFAULT_REJECT_REASONS,
            },
        )
    return conditions


def document_labels(kinds) -> list[str]:
    return [str(DocumentKind(kind).label) for kind in kinds if kind in DocumentKind.values]


# --- The queue ---------------------------------------------------------------------------------


def tab_counts(cap: int | None = None) -> dict[str, str]:
    """Each tab's count as shown ("1,000+" past the cap, as the customer list says it): one
    capped count per status on the queue index, never a count of the whole table."""
    cap = cap or settings.LIST_COUNT_CAP
    rows = WholesaleApplication.objects.order_by()
    counts, total, over = {}, 0, False
    for status in Status.values:
        number, more = capped_count(rows.filter(status=status), cap)
        counts[status] = f"{number:,}+" if more else f"{number:,}"
        total, over = total + number, over or more
    counts["all"] = f"{total:,}+" if over else f"{total:,}"
    return counts


def queue(
    *,
    tab: str = "pending",
    query: str = "",
    city: str = "",
    submitted_from=None,
    submitted_to=None,
    reviewer=None,
    unassigned: bool = False,
    overdue_hours: int | None = None,
):
    """The applications a queue tab shows, filtered; oldest first, as reviewers work."""
    rows = WholesaleApplication.objects.select_related("reviewer", "customer")
    if tab in Status.values:
        rows = rows.filter(status=tab)
    for term in search_terms(query):
        rows = rows.filter(search_text__like=anywhere_pattern(term))
    if city:
        rows = rows.filter(city__iexact=city.strip())
    if submitted_from:
        rows = rows.filter(submitted_at__gte=day_start(submitted_from))
    if submitted_to:
        rows = rows.filter(submitted_at__lt=day_end(submitted_to))
    if reviewer is not None:
        rows = rows.filter(reviewer=reviewer)
    if unassigned:
        rows = rows.filter(reviewer__isnull=True)
    if overdue_hours is not None:
        rows = rows.filter(
            status__in=OPEN_STATUSES,
            submitted_at__lt=timezone.now() - timedelta(hours=overdue_hours),
        )
    return rows


def age_state(application, sla_hours: int, now=None) -> str:
    """How an open application's age compares with the SLA: ok, due (past half), overdue."""
    if application.status not in OPEN_STATUSES:
        return ""
    hours = application.age(now).total_seconds() / 3600
    if hours >= sla_hours:
        return "overdue"
    return "due" if hours >= sla_hours / 2 else "ok"


# --- One application ---------------------------------------------------------------------------


@dataclass
class Match:
    customer: Customer
    reasons: list[str] = field(default_factory=list)


def matching_customers(application) -> list[Match]:
    """Customers who are this applicant by phone, email, or a tax ID an earlier application
    of theirs carried; approving upgrades one of them instead of creating a duplicate."""
    found: dict[int, Match] = {}

    def add(customers, reason):
        for customer in customers:
            found.setdefault(customer.pk, Match(customer)).reasons.append(reason)

    live = Customer.objects.filter(anonymised_at__isnull=True).select_related("rank")
    add(live.filter(phone=application.phone), _("same mobile number"))
    add(live.filter(email=(application.email or "").lower()), _("same email"))
    if application.tax_id:
        by_tax = (
            WholesaleApplication.objects.filter(tax_id=application.tax_id, customer__isnull=False)
            .exclude(pk=application.pk)
            .values("customer_id")
        )
        add(live.filter(pk__in=by_tax), _("same tax ID"))
    return sorted(found.values(), key=lambda match: -len(match.reasons))


@dataclass
class CheckItem:
    label: str
    passed: bool
    detail: str = ""


def checklist(application, conditions: WholesaleConditions) -> list[CheckItem]:
    """The conditions, each passed or failed by this application."""
    have = {document.kind for document in application.documents.all()}
    missing = [kind for kind in conditions.required_documents if kind not in have]
    return [
        CheckItem(
            _("Required documents present"),
            not missing,
            _("Missing: %(names)s") % {"names": ", ".join(document_labels(missing))}
            if missing
            else ", ".join(document_labels(conditions.required_documents)) or _("none required"),
        ),
        CheckItem(_("Tax ID valid"), is_valid_tax_id(application.tax_id), application.tax_id),
        CheckItem(
            _("Expected monthly value at least the minimum first order"),
            application.expected_monthly_value >= conditions.min_first_order_value,
            f"{application.expected_monthly_value:,.0f} ≥ {conditions.min_first_order_value:,.0f}",
        ),
        CheckItem(_("Agreed to be contacted"), application.consent),
    ]


def earlier_applications(application) -> list[WholesaleApplication]:
    """The same business's other applications (by phone, email or tax ID), newest first."""
    same = Q(phone=application.phone) | Q(email=application.email)
    if application.tax_id:
        same |= Q(tax_id=application.tax_id)
    return list(
        WholesaleApplication.objects.filter(same)
        .exclude(pk=application.pk)
        .order_by("-submitted_at")[:20]
    )


def applications_of(customer) -> list[WholesaleApplication]:
    return list(customer.wholesale_applications.order_by("-submitted_at")[:10])


def queue_figures(now=None) -> dict:
    """Pending applications and the age of the oldest, for the dashboard (one query)."""
    figures = WholesaleApplication.objects.filter(status=Status.PENDING).aggregate(
        pending=Count("id"), oldest=Min("submitted_at")
    )
    oldest = figures["oldest"]
    return {
        "pending": figures["pending"],
        "oldest_age": (now or timezone.now()) - oldest if oldest else None,
        "sla_hours": get_conditions().sla_hours,
    }
