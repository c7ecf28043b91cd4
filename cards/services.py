"""Writes of the tourist-card app. Stock is made set-based: a batch's numbers are computed in
memory and inserted in chunks, never one save per card."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.db.models.functions import Length
from django.utils.translation import gettext as _

from cards.luhn import check_digit
from cards.models import CardBatch, CardStatus, TouristCard

NUMBER_LENGTH = 16  # payload of 15 digits + the Luhn digit, as bank cards
MAX_BATCH = 100_000
CHUNK = 5_000


def _next_sequence(prefix: str) -> int:
    """The first sequence number after every card already numbered under this prefix."""
    highest = (
        TouristCard.objects.annotate(length=Length("number"))
        .filter(number__startswith=prefix, length=NUMBER_LENGTH)
        .aggregate(highest=Max("number"))["highest"]
    )
    return int(highest[len(prefix) : -1]) + 1 if highest else 1


def generate_batch(*, name: str, prefix: str, size: int, validity_days: int, store, actor):
    """A batch of `size` new card numbers: prefix, a running sequence, the Luhn digit."""
    if not prefix.isdigit() or not 1 <= len(prefix) <= 8:
        raise ValidationError(_("The prefix is 1 to 8 digits."), code="prefix")
    if not 1 <= size <= MAX_BATCH:
        raise ValidationError(
            _("A batch holds 1 to %(max)s cards.") % {"max": f"{MAX_BATCH:,}"}, code="size"
        )
    width = NUMBER_LENGTH - 1 - len(prefix)
    with transaction.atomic():
        first = _next_sequence(prefix)
        if first + size - 1 >= 10**width:
            raise ValidationError(
                _("The prefix %(prefix)s has no room for %(size)s more cards.")
                % {"prefix": prefix, "size": f"{size:,}"},
                code="full",
            )
        batch = CardBatch.objects.create(
            name=name,
            source=CardBatch.Source.GENERATED,
            prefix=prefix,
            size=size,
            validity_days=validity_days,
            store=store,
            created_by=actor,
        )
        for start in range(first, first + size, CHUNK):
            payloads = (
                f"{prefix}{sequence:0{width}d}"
                for sequence in range(start, min(start + CHUNK, first + size))
            )
            TouristCard.objects.bulk_create(
                TouristCard(
                    number=payload + check_digit(payload),
                    batch=batch,
                    status=CardStatus.IN_STOCK,
                    store=store,
                )
                for payload in payloads
            )
    return batch
