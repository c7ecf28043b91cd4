"""The cards' columns for customer exports: the customer's latest card, its nationality and
passport number. The passport is masked (last four characters) unless the export's user may
see it in full; the full column needs that permission to be chosen at all."""

from django.db.models import Case, CharField, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Concat, Greatest, Length, Repeat, Right
from django.utils.translation import gettext_lazy as _

from cards.models import CardStatus, TouristCard

FULL_PASSPORT_PERMISSION = "cards.view_passport_touristcard"


def _latest(expression):
    """One value of the customer's most recently activated card, as a subquery."""
    cards = (
        TouristCard.objects.filter(customer=OuterRef("pk"), activated_at__isnull=False)
        .order_by("-activated_at", "-id")
        .annotate(cell=expression)
        .values("cell")[:1]
    )
    return Subquery(cards)


def masked_passport():
    """SQL for TouristCard.masked_passport: a dot for each character but the last four."""
    number = F("passport_number")
    return Concat(Repeat(Value("•"), Greatest(Length(number) - 4, Value(0))), Right(number, 4))


def status_label():
    """SQL for the card status's label, as the lists show it."""
    return Case(
        *[When(status=value, then=Value(str(label))) for value, label in CardStatus.choices],
        default=F("status"),
        output_field=CharField(),
    )


def export_columns() -> list[dict]:
    """(key, label, expression factory, permission) for the customer export engine."""
    return [
        {
            "key": "card_number",
            "label": _("Tourist card"),
            "expression": lambda: _latest(F("number")),
        },
        {
            "key": "card_status",
            "label": _("Tourist card status"),
            "expression": lambda: _latest(status_label()),
        },
        {
            "key": "card_nationality",
            "label": _("Nationality"),
            "expression": lambda: _latest(F("nationality")),
        },
        {
            "key": "card_passport",
            "label": _("Passport (masked)"),
            "expression": lambda: _latest(masked_passport()),
        },
        {
            "key": "card_passport_full",
            "label": _("Passport (full)"),
            "expression": lambda: _latest(F("passport_number")),
            "permission": FULL_PASSPORT_PERMISSION,
        },
    ]
