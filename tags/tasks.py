"""Background tasks for tags (run by `manage.py db_worker`)."""

from django.contrib.auth import get_user_model
from django.tasks import task

from customers.selectors import customers_matching
from tags import services
from tags.models import Tag


@task()
def bulk_tags_task(*, actor_id: int, query_string: str, tag_ids: list[int], action: str) -> int:
    """Tag or untag every customer a list filter selects: too many to do inside a request."""
    actor = get_user_model().objects.filter(pk=actor_id).first()
    queryset = customers_matching(query_string)
    tags = Tag.objects.filter(pk__in=tag_ids)
    if action == "remove":
        return services.bulk_remove(queryset=queryset, tags=tags, actor=actor)
    return services.bulk_assign(queryset=queryset, tags=tags, actor=actor)


@task()
def apply_rules_task(*, actor_id: int | None = None, tag_ids: list[int] | None = None) -> dict:
    """Apply automatic tags' rules (all of them, or the given ones)."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return services.apply_all_rules(actor=actor, tag_ids=tag_ids)
