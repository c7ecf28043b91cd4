"""Reads about ranks that other apps use."""

import json

from django.core.cache import cache
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from ranks import engine
from ranks.models import Rank, RankPolicy

COUNTS_KEY = "ranks:members"
COUNTS_SECONDS = 300


def members_per_rank() -> dict:
    """Live members per rank id (None: no rank) and when they were counted; cached so a page
    view never scans the customer table (`forget_members_per_rank` after moving many)."""
    return cache.get_or_set(COUNTS_KEY, _count_members_per_rank, COUNTS_SECONDS)


def forget_members_per_rank() -> None:
    cache.delete(COUNTS_KEY)


def _count_members_per_rank() -> dict:
    live = Customer.objects.live().order_by()
    return {
        "counts": dict(live.values_list("rank").annotate(n=Count("pk"))),
        "computed_at": timezone.now(),
    }


def default_rank() -> Rank | None:
    return Rank.objects.filter(is_default=True).first()


def impact(simulation) -> dict:
    """A simulation's counts as rows for the before/after table and chart, in level order."""
    ranks = list(Rank.objects.all())
    counts = simulation.counts.get("ranks", {})
    rows = []
    for rank in ranks:
        row = counts.get(str(rank.pk), {"before": 0, "up": 0, "down": 0, "in": 0, "after": 0})
        rows.append({"rank": rank, **row})
    chart = {
        "labels": [rank.name for rank in ranks],
        "datasets": [
            {"label": str(_("Now")), "values": [r["before"] for r in rows], "colour": "#adb5bd"},
            {"label": str(_("After")), "values": [r["after"] for r in rows], "colour": "#0d6efd"},
        ],
    }
    return {
        "rows": rows,
        "up": simulation.counts.get("up", 0),
        "down": simulation.counts.get("down", 0),
        "grace_started": simulation.counts.get("grace_started", 0),
        "chart_json": json.dumps(chart),
    }


def why_this_rank(customer) -> dict | None:
    """What the "why this rank" panel says: the amount, the thresholds, what moves it."""
    ranks = list(Rank.objects.all())
    if not ranks:
        return None
    policy = RankPolicy.current()
    settings = engine.Settings.build(policy, ranks)
    now = timezone.now()
    amount = engine.qualifying_amount(customer.pk, settings, now)
    by_pk = {rank.pk: rank for rank in ranks}
    current = by_pk.get(customer.rank_id)
    higher = [rank for rank in ranks if current is None or rank.level > current.level]
    next_rank = min(higher, key=lambda rank: rank.level) if higher else None
    return {
        "policy": policy,
        "amount": amount,
        "window_start": engine.window_start(settings.window, now),
        "current": current,
        "next": next_rank,
        "to_next": max(next_rank.threshold - amount, 0) if next_rank else None,
        "to_keep": max(current.threshold - amount, 0) if current else None,
        "target": by_pk.get(engine.qualifying_rank(settings, amount)),
        "override_until": customer.rank_override_expires_at,
        "grace_until": customer.rank_grace_until,
        "ranks": ranks,
    }
