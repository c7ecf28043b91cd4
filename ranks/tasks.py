"""Background tasks for ranks (run by `manage.py db_worker`)."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.tasks import task

from customers.selectors import customers_matching
from ranks.models import Rank
from ranks.services import bulk_set_override, run_recalculation


@task()
def recalculate_ranks_task(job_id: int) -> None:
    run_recalculation(job_id)


@task()
def bulk_rank_task(
    *, actor_id: int, query_string: str, rank_id: int, reason: str, expires_at: str | None
) -> int:
    """A manual rank for every customer a filter selects; too many to do inside a request."""
    return bulk_set_override(
        queryset=customers_matching(query_string),
        rank=Rank.objects.get(pk=rank_id),
        reason=reason,
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        actor=get_user_model().objects.filter(pk=actor_id).first(),
    )
