"""The audiences app's criteria in the one filter language: in all of the audiences, in none of
them. A static audience is its member rows (an EXISTS on the (audience, customer) index); a
dynamic one is its own rule, applied to the same query, so opening it in the list is the rule's
own plan and not a sub-query around it."""

from contextvars import ContextVar

from django.db.models import Exists, OuterRef
from django.http import QueryDict
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience, AudienceMember
from core.forms import RemoteSelectMultiple
from customers.filters import CustomerFilterSet, ModelChoicesFilter, add_criteria, every
from customers.models import Customer

# Audiences being expanded in this evaluation: a rule that names itself, however indirectly,
# selects no one instead of recursing (saving such a rule is refused before that).
_expanding: ContextVar[tuple[int, ...]] = ContextVar("audiences_expanding", default=())

PARAMETERS = ("audience", "not_audience")


def _apply_rule(audience: Audience, queryset, like=None):
    """`queryset` narrowed by the dynamic audience's rule (none for an invalid or cyclic one);
    `like`, the filter set asking, lends its rewards and custom fields."""
    stack = _expanding.get()
    if audience.pk in stack:
        return queryset.none()
    token = _expanding.set((*stack, audience.pk))
    try:
        filterset = CustomerFilterSet.for_rule(QueryDict(audience.rule), queryset, like=like)
        if not filterset.is_valid():
            return queryset.none()
        return filterset.qs
    finally:
        _expanding.reset(token)


def members_exist(audience: Audience, like=None) -> Exists:
    """The outer customer is a member of the audience (either kind)."""
    if audience.is_static:
        return Exists(AudienceMember.objects.filter(audience=audience, customer=OuterRef("pk")))
    rule = _apply_rule(audience, Customer.objects.all(), like)
    return Exists(rule.filter(pk=OuterRef("pk")))


def in_audience(queryset, audience: Audience, like=None):
    if audience.is_static:
        return queryset.filter(members_exist(audience))
    return _apply_rule(audience, queryset, like)


class InAllFilter(ModelChoicesFilter):
    """In every chosen audience."""

    def filter(self, qs, value):
        for audience in value or ():
            qs = in_audience(qs, audience, like=self.parent)
        return qs


class InNoneFilter(ModelChoicesFilter):
    """In none of the chosen audiences."""

    def filter(self, qs, value):
        for audience in value or ():
            qs = qs.filter(~members_exist(audience, like=self.parent))
        return qs


def referenced_ids(rule: str) -> set[int]:
    """The audiences a rule names in its audience criteria."""
    data = QueryDict(rule or "")
    return {
        int(value)
        for name in PARAMETERS
        for value in data.getlist(name)
        if value.isdigit() and len(value) < 19
    }


def _criterion(kind, label):
    return kind(
        label=label,
        queryset=every(Audience),
        distinct=False,
        widget=RemoteSelectMultiple(reverse_lazy("customers:options", args=["audiences"])),
    )


def register() -> None:
    add_criteria(
        {
            "audience": _criterion(InAllFilter, _("In the audiences (all)")),
            "not_audience": _criterion(InNoneFilter, _("Not in the audiences")),
        },
        after="tags_none",
        section="audiences",
        heading=_("Audiences"),
    )
