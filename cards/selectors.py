"""Reads of the tourist-card app."""

from cards.luhn import normalise
from cards.models import TouristCard


def cards(*, query: str = "", status: str = "", nationality: str = "", valid_until_to=None):
    """The cards the list shows: by number (exact, as typed or scanned) or passport (exact,
    capitals), status, nationality and validity; both lookups are indexed."""
    rows = TouristCard.objects.select_related("customer", "batch", "store")
    typed = normalise(query).upper()
    if typed:
        rows = rows.filter(number=typed) if typed.isdigit() else rows.filter(passport_number=typed)
    if status:
        rows = rows.filter(status=status)
    if nationality:
        rows = rows.filter(nationality=nationality)
    if valid_until_to:
        rows = rows.filter(valid_until__lte=valid_until_to)
    return rows
