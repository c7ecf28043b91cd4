"""Reads of the tourist-card app."""

from django.db.models import Count

from cards.luhn import normalise
from cards.models import CardBatch, CardStatus, TouristCard
from core.dates import day_end, day_start


def cards(
    *,
    query: str = "",
    status: str = "",
    nationality: str = "",
    batch=None,
    store=None,
    activated_from=None,
    activated_to=None,
    valid_until_from=None,
    valid_until_to=None,
):
    """The cards the list shows: by number (exact, as typed or scanned) or passport (exact,
    capitals), status, nationality, batch, store, activation day (local) and validity; the
    number and passport lookups are indexed."""
    rows = TouristCard.objects.select_related("customer", "batch", "store")
    typed = normalise(query).upper()
    if typed:
        rows = rows.filter(number=typed) if typed.isdigit() else rows.filter(passport_number=typed)
    if status:
        rows = rows.filter(status=status)
    if nationality:
        rows = rows.filter(nationality=nationality)
    if batch:
        rows = rows.filter(batch=batch)
    if store:
        rows = rows.filter(store=store)
    if activated_from:
        rows = rows.filter(activated_at__gte=day_start(activated_from))
    if activated_to:
        rows = rows.filter(activated_at__lt=day_end(activated_to))
    if valid_until_from:
        rows = rows.filter(valid_until__gte=valid_until_from)
    if valid_until_to:
        rows = rows.filter(valid_until__lte=valid_until_to)
    return rows


def batches_with_counts() -> list[CardBatch]:
    """Every batch with its cards counted per status, in one GROUP BY on the batch index."""
    batches = list(CardBatch.objects.select_related("store"))
    counts: dict[int, dict[str, int]] = {}
    rows = TouristCard.objects.order_by().values_list("batch", "status").annotate(n=Count("id"))
    for batch_id, status, n in rows:
        counts.setdefault(batch_id, {})[status] = n
    for batch in batches:
        batch.status_counts = [
            (label, counts.get(batch.pk, {}).get(value, 0)) for value, label in CardStatus.choices
        ]
    return batches


def status_counts(batch: CardBatch) -> list[tuple[str, str, int]]:
    """(value, label, cards) for each status of one batch, on the (batch, status) index."""
    counts = dict(
        batch.cards.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return [(value, label, counts.get(value, 0)) for value, label in CardStatus.choices]


def cards_of(customer) -> list[TouristCard]:
    """The customer's cards, newest first, for their page (on the customer index)."""
    return list(customer.tourist_cards.order_by("-activated_at", "-id")[:10])
