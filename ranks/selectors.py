"""Reads about ranks that other apps use."""

from ranks.models import Rank


def default_rank() -> Rank | None:
    return Rank.objects.filter(is_default=True).first()
