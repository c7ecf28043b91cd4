"""The tourist cards' criteria in the one filter language: holds a card (active / expired /
any), the card holder's nationality, a card number. Each is an EXISTS over the cards, which
are few beside the customers."""

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from django_filters import CharFilter, ChoiceFilter, MultipleChoiceFilter

from cards.luhn import normalise
from cards.models import CardStatus, TouristCard
from customers.filters import add_criteria

HOLDS = [
    ("active", _("An active card")),
    ("expired", _("An expired card")),
    ("any", _("Any card, ever")),
]


def _cards(**conditions) -> Exists:
    return Exists(TouristCard.objects.filter(customer=OuterRef("pk"), **conditions))


def _holds(queryset, name, value):
    if value == "active":
        return queryset.filter(_cards(status=CardStatus.ACTIVE))
    if value == "expired":
        return queryset.filter(_cards(status=CardStatus.EXPIRED))
    if value == "any":
        return queryset.filter(_cards())
    return queryset


def _nationality(queryset, name, value):
    return queryset.filter(_cards(nationality__in=value)) if value else queryset


def _number(queryset, name, value):
    number = normalise(value)
    return queryset.filter(_cards(number=number)) if number else queryset


def register() -> None:
    add_criteria(
        {
            "tourist_card": ChoiceFilter(
                label=_("Tourist card"), choices=HOLDS, method=_holds, empty_label=_("—")
            ),
            "nationality": MultipleChoiceFilter(
                label=_("Nationality (tourist card)"),
                choices=lambda: list(countries),
                method=_nationality,
                distinct=False,
            ),
            "card_number": CharFilter(label=_("Tourist card number"), method=_number),
        },
        after="wholesale_status",
        section="membership",
    )
