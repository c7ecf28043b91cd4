"""Background tasks for customers (run by `manage.py db_worker`)."""

from django.contrib.auth import get_user_model
from django.tasks import task

from customers import selectors, services


@task()
def bulk_status_task(*, actor_id: int, query_string: str, status: str) -> int:
    """Set the status of every customer a filter selects; too large to do inside a request."""
    actor = get_user_model().objects.filter(pk=actor_id).first()
    return services.bulk_set_status(
        queryset=selectors.customers_matching(query_string), status=status, actor=actor
    )


@task()
def bulk_archive_task(*, actor_id: int, query_string: str) -> int:
    """Archive every customer a filter selects; too many to do inside a request."""
    actor = get_user_model().objects.filter(pk=actor_id).first()
    return services.bulk_archive(queryset=selectors.customers_matching(query_string), actor=actor)
