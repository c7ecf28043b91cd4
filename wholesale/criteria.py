"""The wholesale app's criterion in the one filter language: the status of a customer's latest
wholesale application, or none at all. Each status is an EXISTS over the applications with
that status and no later one for the same customer: the database starts from the few
applications, not from every customer."""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_filters import MultipleChoiceFilter

from customers.filters import add_criteria
from wholesale.models import Status, WholesaleApplication

NONE = "none"
CHOICES = [(NONE, _("No application")), *Status.choices]


def latest_with_status(statuses) -> Exists:
    later = WholesaleApplication.objects.filter(
        customer=OuterRef("customer"), submitted_at__gt=OuterRef("submitted_at")
    )
    latest = WholesaleApplication.objects.filter(
        customer=OuterRef("pk"), status__in=statuses
    ).exclude(Exists(later))
    return Exists(latest)


def _by_status(queryset, name, value):
    if not value:
        return queryset
    statuses = [choice for choice in value if choice != NONE]
    condition = None
    if statuses:
        condition = latest_with_status(statuses)
    if NONE in value:
        nothing = ~Exists(WholesaleApplication.objects.filter(customer=OuterRef("pk")))
        condition = nothing if condition is None else condition | nothing
    return queryset.filter(condition)


def register() -> None:
    add_criteria(
        {
            "wholesale_status": MultipleChoiceFilter(
                label=_("Wholesale application"),
                choices=CHOICES,
                method=_by_status,
                distinct=False,
            )
        },
        after="customer_type",
        section="membership",
    )
