"""Writes about tags: the tag list, and manual assignment with provenance and history."""

import logging

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers.bulk import bulk_queryset, register_bulk_action
from customers.models import BulkChange, Customer, CustomerEvent
from customers.search_text import fold, name_key
from customers.selectors import customer_filterset, customers_matching
from customers.services import record_event, record_events
from tags.models import CustomerTag, Tag

logger = logging.getLogger("loyalty.tags")
COUNTS_KEY = "tags:counts"
COUNTS_SECONDS = 300


def customer_counts() -> dict[int, int]:
    """Customers per tag, cached: one index-only GROUP BY over the assignments, at most every
    five minutes, and dropped whenever assignments change through this module."""

    def compute():
        rows = CustomerTag.objects.order_by().values_list("tag").annotate(n=Count("pk"))
        return dict(rows)

    return cache.get_or_set(COUNTS_KEY, compute, COUNTS_SECONDS)


def forget_counts() -> None:
    cache.delete(COUNTS_KEY)


def unique_slug(name: str, *, exclude_pk=None) -> str:
    base = slugify(fold(name))[:80] or "tag"
    slug, n = base, 1
    while Tag.objects.filter(slug=slug).exclude(pk=exclude_pk).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_tag_named(*, name: str, actor) -> Tag:
    """A new manual tag of this name (the caller has checked no tag has its key)."""
    return Tag.objects.create(name=name, slug=unique_slug(name), created_by=actor)


def ensure_tag(*, name: str, actor) -> Tag:
    """The tag of this name (case and accents aside), created as a manual tag when none is."""
    return tag_named(name) or create_tag_named(name=name, actor=actor)


def tag_named(name: str, *, exclude_pk=None) -> Tag | None:
    """The tag whose name has the same key as `name` (case and accents folded), if any.
    Compared in Python: SQLite folds only ASCII case ("NHÀ" ≠ "nhà" there). A few hundred
    tags; PostgreSQL's unique index on lower(name) also guards against a race."""
    key = name_key(name)
    return next(
        (
            tag
            for tag in Tag.objects.exclude(pk=exclude_pk).only("pk", "name")
            if name_key(tag.name) == key
        ),
        None,
    )


def check_name(name: str, *, exclude_pk=None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the tag a name.")})
    clash = tag_named(name, exclude_pk=exclude_pk)
    if clash is not None:
        raise ValidationError(
            {"name": _("A tag named “%(name)s” already exists.") % {"name": clash.name}}
        )
    return name


@transaction.atomic
def save_tag(*, tag: Tag, actor) -> Tag:
    tag.name = check_name(tag.name, exclude_pk=tag.pk)
    if not tag.slug or Tag.objects.filter(slug=tag.slug).exclude(pk=tag.pk).exists():
        tag.slug = unique_slug(tag.name, exclude_pk=tag.pk)
    if tag.pk is None:
        tag.created_by = actor
    tag.save()
    logger.info("tag %s saved by user %s", tag.pk, actor.pk if actor else None)
    return tag


@transaction.atomic
def delete_tag(*, tag: Tag, actor) -> int:
    """Delete a tag and its assignments; each customer's timeline records the removal."""
    removed = _remove_links(tag, actor, _("Tag “%(name)s” deleted") % {"name": tag.name})
    tag.delete()
    logger.info(
        "tag deleted by user %s; %s assignments removed", actor.pk if actor else None, removed
    )
    return removed


def refuse_automatic(tags) -> None:
    automatic = [tag.name for tag in tags if tag.kind == Tag.Kind.AUTOMATIC]
    if automatic:
        raise ValidationError(
            _(
                "%(names)s is an automatic tag: its rule adds and removes it. Change the rule "
                "instead."
            )
            % {"names": ", ".join(automatic)}
        )


@transaction.atomic
def assign_manual(*, customer: Customer, tags, actor) -> list[Tag]:
    """Add manual tags to one customer (idempotent); returns the tags actually added."""
    tags = list(tags)
    refuse_automatic(tags)
    have = set(CustomerTag.objects.filter(customer=customer).values_list("tag_id", flat=True))
    new = sorted((tag for tag in tags if tag.pk not in have), key=lambda tag: tag.name.casefold())
    CustomerTag.objects.bulk_create(
        [
            CustomerTag(
                customer=customer, tag=tag, source=CustomerTag.Source.MANUAL, assigned_by=actor
            )
            for tag in new
        ]
    )
    if new:
        record_event(
            customer=customer,
            kind=CustomerEvent.Kind.TAGS,
            actor=actor,
            message=_("Added %(names)s") % {"names": ", ".join(tag.name for tag in new)},
        )
        forget_counts()
    return new


@transaction.atomic
def remove_manual(*, customer: Customer, tag: Tag, actor) -> bool:
    refuse_automatic([tag])
    deleted, _rows = CustomerTag.objects.filter(customer=customer, tag=tag).delete()
    if deleted:
        record_event(
            customer=customer,
            kind=CustomerEvent.Kind.TAGS,
            actor=actor,
            message=_("Removed %(name)s") % {"name": tag.name},
        )
        forget_counts()
    return bool(deleted)


def _ids_sql(queryset) -> tuple[str, list]:
    sql, params = queryset.order_by().values("id").query.sql_with_params()
    return sql, list(params)


@transaction.atomic
def bulk_assign(*, queryset, tags, actor, source=CustomerTag.Source.MANUAL) -> int:
    """Add tags to every customer of `queryset`, set-based and idempotent (customers who have a
    tag already are left alone); each customer's timeline records what was added. Returns the
    number of assignments made."""
    tags = list(tags)
    if source == CustomerTag.Source.MANUAL:
        refuse_automatic(tags)
    now, actor_id, added = timezone.now(), actor.pk if actor else None, 0
    sub_sql, sub_params = _ids_sql(queryset)
    link = CustomerTag._meta.db_table
    missing = (
        f"SELECT picked.id FROM ({sub_sql}) picked WHERE NOT EXISTS (SELECT 1 FROM {link} t"  # noqa: S608
        f" WHERE t.customer_id = picked.id AND t.tag_id = %s)"
    )
    with connection.cursor() as cursor:
        for tag in tags:
            record_events(
                customers_sql=missing,
                params=[*sub_params, tag.pk],
                kind=CustomerEvent.Kind.TAGS,
                actor=actor,
                message=_("Added %(names)s") % {"names": tag.name},
                now=now,
            )
            cursor.execute(
                f"INSERT INTO {link} (customer_id, tag_id, source, assigned_by_id, assigned_at)"  # noqa: S608
                f" SELECT picked.*, %s, %s, %s, %s FROM ({missing}) picked",
                [tag.pk, source, actor_id, now, *sub_params, tag.pk],
            )
            added += cursor.rowcount
    forget_counts()
    logger.info("bulk tagging by user %s: %s assignments", actor_id, added)
    return added


def _remove_links(tag: Tag, actor, message: str, *, queryset=None, source=None) -> int:
    """Remove `tag` from the customers of `queryset` (all when None), only assignments from
    `source` when given; one timeline entry per customer. Returns the number removed."""
    link = CustomerTag._meta.db_table
    where, params = "tag_id = %s", [tag.pk]
    if source is not None:
        where, params = f"{where} AND source = %s", [*params, source]
    if queryset is not None:
        sub_sql, sub_params = _ids_sql(queryset)
        where, params = f"{where} AND customer_id IN ({sub_sql})", [*params, *sub_params]
    record_events(
        customers_sql=f"SELECT customer_id FROM {link} WHERE {where}",  # noqa: S608
        params=params,
        kind=CustomerEvent.Kind.TAGS,
        actor=actor,
        message=message,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {link} WHERE {where}", params)  # noqa: S608
        removed = cursor.rowcount
    forget_counts()
    return removed


@transaction.atomic
def bulk_remove(*, queryset, tags, actor) -> int:
    """Remove manual tags from every customer of `queryset` that has them; logged per customer."""
    tags = list(tags)
    refuse_automatic(tags)
    removed = sum(
        _remove_links(tag, actor, _("Removed %(name)s") % {"name": tag.name}, queryset=queryset)
        for tag in tags
    )
    logger.info("bulk untagging by user %s: %s assignments", actor.pk if actor else None, removed)
    return removed


# --- Automatic tags ----------------------------------------------------------------------------

BUILT_IN_RULES = [
    ("followed_oa=true", _lazy("Followed the official account")),
    ("app_used_days=30", _lazy("Used the app in the last 30 days")),
    ("purchased_days=30", _lazy("Purchased in the last 30 days")),
    ("orders_min=5", _lazy("Purchased at least 5 times")),
    ("reward=any", _lazy("Redeemed a reward")),
]


def check_rule(rule: str) -> str:
    """A rule is a customer-list query string; refuse one the list would call invalid."""
    rule = (rule or "").strip().lstrip("?")
    if not rule:
        raise ValidationError({"rule": _("An automatic tag needs a rule.")})
    try:
        customers_matching(rule)
    except ValidationError as error:
        raise ValidationError(
            {
                "rule": _("This rule is not a valid customer filter: %(why)s")
                % {"why": " ".join(error.messages)}
            }
        ) from None
    if not customer_filterset(rule).is_filtered:
        raise ValidationError({"rule": _("This rule selects every customer; narrow it down.")})
    return rule


def apply_rule(tag: Tag, *, actor=None) -> tuple[int, int]:
    """Bring an automatic tag in line with its rule: add it to customers who now match, remove
    it (where the rule put it) from those who no longer do. One transaction; returns
    (added, removed)."""
    if tag.kind != Tag.Kind.AUTOMATIC:
        raise ValidationError(_("“%(name)s” is a manual tag.") % {"name": tag.name})
    with transaction.atomic():
        matching = customers_matching(tag.rule)
        added = bulk_assign(
            queryset=matching, tags=[tag], actor=actor, source=CustomerTag.Source.RULE
        )
        gone = Customer.objects.filter(
            tag_links__tag=tag, tag_links__source=CustomerTag.Source.RULE
        ).exclude(pk__in=matching.order_by().values("pk"))
        removed = _remove_links(
            tag,
            actor,
            _("Removed %(name)s (rule no longer matches)") % {"name": tag.name},
            queryset=gone,
            source=CustomerTag.Source.RULE,
        )
        Tag.objects.filter(pk=tag.pk).update(
            rule_applied_at=timezone.now(),
            rule_added=added,
            rule_removed=removed,
            rule_error="",
            rule_failed_at=None,
        )
    logger.info("rule of tag %s applied: %s added, %s removed", tag.pk, added, removed)
    return added, removed


def apply_all_rules(*, actor=None, tag_ids=None, slug=None) -> dict[str, tuple[int, int] | str]:
    """Apply every automatic tag's rule (or those of `tag_ids`, or the one of `slug`):
    {name: (added, removed)}, or {name: why} for a rule that failed. A failing rule changes
    nothing, is recorded on its tag for staff to see, and never stops the rules after it."""
    tags = Tag.objects.filter(kind=Tag.Kind.AUTOMATIC).order_by("name")
    if tag_ids is not None:
        tags = tags.filter(pk__in=tag_ids)
    if slug is not None:
        tags = tags.filter(slug=slug)
    results = {}
    for tag in tags:
        try:
            results[tag.name] = apply_rule(tag, actor=actor)
        except Exception as error:  # one rule's failure, whatever it is, is that rule's
            results[tag.name] = _rule_failed(tag, error)
    return results


def _rule_failed(tag: Tag, error: Exception) -> str:
    if isinstance(error, ValidationError):
        why = " ".join(error.messages)
    else:
        why = _("The rule could not be run (%(error)s).") % {"error": type(error).__name__}
    Tag.objects.filter(pk=tag.pk).update(rule_error=why, rule_failed_at=timezone.now())
    logger.warning("rule of tag %s failed: %s", tag.pk, type(error).__name__)
    return why


def _bulk_tags(job) -> int:
    tags = Tag.objects.filter(pk__in=job.parameters["tag_ids"])
    queryset = bulk_queryset(job)
    if job.kind == BulkChange.Kind.UNTAG:
        return bulk_remove(queryset=queryset, tags=tags, actor=job.created_by)
    return bulk_assign(queryset=queryset, tags=tags, actor=job.created_by)


def _apply_rules(job) -> dict:
    parameters = job.parameters
    return apply_all_rules(
        actor=job.created_by, tag_ids=parameters.get("tag_ids"), slug=parameters.get("slug")
    )


def register_bulk_actions() -> None:
    register_bulk_action(BulkChange.Kind.TAG, _bulk_tags)
    register_bulk_action(BulkChange.Kind.UNTAG, _bulk_tags)
    register_bulk_action(BulkChange.Kind.RULES, _apply_rules)
