"""The tags app's criteria in the one filter language: has any / all / none of the tags."""

from django.db.models import Exists, OuterRef
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from core.forms import RemoteSelectMultiple
from customers.filters import ModelChoicesFilter, add_criteria, every
from tags.models import CustomerTag, Tag

TAG_OPTIONS = reverse_lazy("customers:options", args=["tags"])


def _tagged(tags):
    return Exists(CustomerTag.objects.filter(customer=OuterRef("pk"), tag__in=tags))


def _any(queryset, name, value):
    return queryset.filter(_tagged(value)) if value else queryset


def _all(queryset, name, value):
    for tag in value:
        queryset = queryset.filter(_tagged([tag]))
    return queryset


def _none(queryset, name, value):
    return queryset.filter(~_tagged(value)) if value else queryset


def _tag_criterion(label, method):
    return ModelChoicesFilter(
        label=label,
        queryset=every(Tag),
        method=method,
        distinct=False,
        widget=RemoteSelectMultiple(TAG_OPTIONS),
    )


def register() -> None:
    add_criteria(
        {
            "tags_any": _tag_criterion(_("Has any of the tags"), _any),
            "tags_all": _tag_criterion(_("Has all of the tags"), _all),
            "tags_none": _tag_criterion(_("Has none of the tags"), _none),
        },
        after="orders_min",
        section="tags",
        heading=_("Tags"),
    )
