"""Dashboard figures, cached so a page view never scans the customer table."""

from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils import timezone

from core.palette import CHART_HEX
from customers.models import Customer, CustomerEvent
from ranks.models import Rank

CACHE_KEY = "dashboard:figures"
CACHE_SECONDS = 300


def compute_figures() -> dict:
    now = timezone.now()
    live = Customer.objects.live()
    week_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start -= timedelta(days=week_start.weekday())
    per_rank = dict(live.order_by().values_list("rank").annotate(n=Count("pk")))
    ranks = list(Rank.objects.all())
    since = week_start - timedelta(weeks=26)
    weekly = dict(
        live.filter(joined_at__gte=since)
        .annotate(week=TruncWeek("joined_at"))
        .order_by()
        .values_list("week")
        .annotate(n=Count("pk"))
    )
    weeks = [since + timedelta(weeks=i) for i in range(27)]
    weekly_by_date = {timezone.localtime(week).date(): n for week, n in weekly.items()}
    return {
        "total": sum(per_rank.values()),
        "per_rank": {str(pk): count for pk, count in per_rank.items() if pk is not None},
        "new_this_week": live.filter(joined_at__gte=week_start).count(),
        "computed_at": now,
        "rank_chart": {
            "labels": [rank.name for rank in ranks] + (["—"] if per_rank.get(None) else []),
            "values": [per_rank.get(rank.pk, 0) for rank in ranks]
            + ([per_rank[None]] if per_rank.get(None) else []),
            "colours": [CHART_HEX[rank.colour] for rank in ranks] + ["#adb5bd"],
        },
        "signup_chart": {
            "labels": [week.strftime("%Y-%m-%d") for week in weeks],
            "values": [weekly_by_date.get(week.date(), 0) for week in weeks],
        },
    }


def forget_figures() -> None:
    """Drop the cached figures (after a change that moves many members, e.g. recalculation)."""
    cache.delete(CACHE_KEY)


def dashboard_figures() -> dict:
    figures = cache.get_or_set(CACHE_KEY, compute_figures, CACHE_SECONDS)
    if "per_rank" not in figures:  # cached by an older release
        figures = compute_figures()
        cache.set(CACHE_KEY, figures, CACHE_SECONDS)
    return figures


def recent_activity(limit: int = 12):
    return CustomerEvent.objects.select_related("customer", "actor")[:limit]
