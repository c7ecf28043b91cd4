"""Reads of the tourist-card app."""

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

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


FIGURES_KEY = "cards:figures"
FIGURES_SECONDS = 300
CHART_DAYS = 30
TOP_NATIONALITIES = 8


def card_figures() -> dict:
    """The dashboard's tourist-card charts, cached like the members' figures: activations per
    local day over the last month (activation index) and active cards per nationality."""
    return cache.get_or_set(FIGURES_KEY, _compute_card_figures, FIGURES_SECONDS)


def forget_card_figures() -> None:
    cache.delete(FIGURES_KEY)


def _compute_card_figures() -> dict:
    today = timezone.localdate()
    first = today - timedelta(days=CHART_DAYS - 1)
    per_day = dict(
        TouristCard.objects.filter(activated_at__gte=day_start(first))
        .annotate(day=TruncDate("activated_at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values_list("day")
        .annotate(n=Count("id"))
    )
    days = [first + timedelta(days=i) for i in range(CHART_DAYS)]
    by_nationality = list(
        TouristCard.objects.filter(status=CardStatus.ACTIVE)
        .order_by()
        .values_list("nationality")
        .annotate(n=Count("id"))
        .order_by("-n", "nationality")
    )
    top, rest = by_nationality[:TOP_NATIONALITIES], by_nationality[TOP_NATIONALITIES:]
    labels = [countries.name(code) or code or "—" for code, _n in top]
    values = [n for _code, n in top]
    if rest:
        labels.append(str(_("Others")))
        values.append(sum(n for _code, n in rest))
    return {
        "activations_chart": {
            "labels": [day.strftime("%m-%d") for day in days],
            "values": [per_day.get(day, 0) for day in days],
        },
        "activated_in_period": sum(per_day.values()),
        "active": sum(values),
        "nationality_chart": {"labels": labels, "values": values},
        "nationality_codes": [code for code, _n in top],
    }
