"""Writes on audiences: create and edit (with the rule checked), members added and removed
set-based, snapshots and freezes (as jobs), counts, archive and delete. Files of identifiers
are in `audiences.files`."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audiences.criteria import in_audience, referenced_ids
from audiences.models import Audience, AudienceChange, AudienceJob, AudienceMember
from core.db import refresh_statistics
from customers.bulk import bulk_queryset, register_bulk_action
from customers.models import BulkChange, Customer
from customers.search_text import name_key
from customers.selectors import (
    capped_count,
    customer_filterset,
    customers_matching,
    filter_errors,
)
from tags.models import Tag

logger = logging.getLogger("loyalty.audit")

# Customer ids per INSERT … SELECT of a snapshot: a progress step, and one short statement.
SNAPSHOT_ID_SPAN = 50_000


class SelectsEveryone(ValidationError):
    """The rule selects every customer, and that was not confirmed."""


def record_change(audience: Audience, action: str, actor=None, detail: str = "") -> None:
    AudienceChange.objects.create(audience=audience, action=action, actor=actor, detail=detail)


def check_name(name: str, *, exclude_pk=None) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the audience a name.")})
    key = name_key(name)
    clash = Audience.objects.filter(name_key=key).exclude(pk=exclude_pk).first()
    if clash is not None:
        raise ValidationError(
            {"name": _("An audience named “%(name)s” already exists.") % {"name": clash.name}}
        )
    return name, key


def check_rule(rule: str, *, audience: Audience | None = None, everyone_ok: bool = False) -> str:
    """A dynamic audience's rule is a customer-list query string the list accepts. Refused:
    an invalid one (the reason for each criterion), one that names the audience itself however
    indirectly, and — unless `everyone_ok` — one that selects everyone (SelectsEveryone)."""
    rule = (rule or "").strip().lstrip("?")
    filterset = customer_filterset(rule)
    if not filterset.is_valid():
        raise ValidationError(
            {
                "rule": [
                    f"{label}: {' '.join(messages)}" for label, messages in filter_errors(filterset)
                ]
            }
        )
    if audience is not None and audience.pk and _names(rule, audience.pk):
        raise ValidationError({"rule": _("The rule names this audience itself.")})
    if not filterset.is_filtered and not everyone_ok:
        raise SelectsEveryone(
            {"rule": _("This rule selects every customer. Confirm that this is what you want.")}
        )
    return rule


def _names(rule: str, target: int, seen=None) -> bool:
    """Whether the rule names audience `target`, directly or through other dynamic rules."""
    seen = seen if seen is not None else set()
    for pk in referenced_ids(rule) - seen:
        if pk == target:
            return True
        seen.add(pk)
        inner = Audience.objects.filter(pk=pk, kind=Audience.Kind.DYNAMIC).first()
        if inner is not None and _names(inner.rule, target, seen):
            return True
    return False


def save_audience(*, audience: Audience, actor, everyone_ok: bool = False) -> Audience:
    """Create or edit an audience (name, description, kind's rule, freeze date)."""
    creating = audience.pk is None
    errors = {}
    try:
        audience.name, audience.name_key = check_name(audience.name, exclude_pk=audience.pk)
    except ValidationError as error:
        errors.update(error.message_dict)
    if audience.kind == Audience.Kind.DYNAMIC:
        try:
            audience.rule = check_rule(audience.rule, audience=audience, everyone_ok=everyone_ok)
        except SelectsEveryone:
            if not errors:
                raise
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    if creating:
        audience.owner = audience.owner or actor
        if audience.is_static:  # members come by hand or file; a snapshot keeps its rule
            audience.rule, audience.freeze_on = "", None
    try:
        with transaction.atomic():  # two people naming two audiences alike at once
            audience.save()
            record_change(
                audience,
                AudienceChange.Action.CREATED if creating else AudienceChange.Action.EDITED,
                actor,
            )
    except IntegrityError:
        raise ValidationError(
            {"name": _("An audience named “%(name)s” already exists.") % {"name": audience.name}}
        ) from None
    if audience.kind == Audience.Kind.DYNAMIC:
        refresh_size(audience)
    logger.info("audience %s saved by user %s", audience.pk, actor.pk if actor else None)
    return audience


def rule_users(audience: Audience) -> list[str]:
    """What uses this audience: automatic tags and other audiences naming it in their rules, and
    scheduled exports of it (so it may not be deleted while they do)."""
    users = [
        _("automatic tag “%(name)s”") % {"name": tag.name}
        for tag in Tag.objects.filter(kind=Tag.Kind.AUTOMATIC).only("name", "rule")
        if audience.pk in referenced_ids(tag.rule)
    ]
    users += [
        _("audience “%(name)s”") % {"name": other.name}
        for other in Audience.objects.exclude(pk=audience.pk).exclude(rule="").only("name", "rule")
        if audience.pk in referenced_ids(other.rule)
    ]
    users += [
        _("scheduled export “%(name)s”") % {"name": name}
        for name in audience.scheduled_exports.values_list("name", flat=True)
    ]
    return users


def delete_audience(*, audience: Audience, actor) -> None:
    users = rule_users(audience)
    if users:
        raise ValidationError(
            _("“%(name)s” cannot be deleted: %(users)s use it. Change them first.")
            % {"name": audience.name, "users": ", ".join(users)}
        )
    logger.info("audience %s deleted by user %s", audience.pk, actor.pk if actor else None)
    audience.delete()


def set_archived(*, audience: Audience, archived: bool, actor) -> None:
    audience.archived = archived
    audience.save(update_fields=["archived", "updated_at"])
    action = AudienceChange.Action.ARCHIVED if archived else AudienceChange.Action.RESTORED
    record_change(audience, action, actor)


# Members -------------------------------------------------------------------------------------


def insert_members(audience: Audience, customers_sql: str, params, *, source, actor) -> int:
    """INSERT … SELECT the customers `customers_sql` selects (one column of ids) as members;
    those already members are skipped. Returns how many were added."""
    table = AudienceMember._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (audience_id, customer_id, source, added_by_id, added_at)"  # noqa: S608
            f" SELECT %s, picked.*, %s, %s, %s FROM ({customers_sql}) AS picked"
            # WHERE: SQLite would read the ON of ON CONFLICT as a join's otherwise.
            " WHERE 1 = 1 ON CONFLICT (audience_id, customer_id) DO NOTHING",
            [audience.pk, source, actor.pk if actor else None, timezone.now(), *params],
        )
        return max(cursor.rowcount, 0)


def ids_sql(queryset) -> tuple[str, tuple]:
    return queryset.order_by().values("pk").query.sql_with_params()


def refuse_dynamic(audience: Audience) -> None:
    if not audience.is_static:
        raise ValidationError(
            _("“%(name)s” is dynamic: its members are whoever its rule selects.")
            % {"name": audience.name}
        )


@transaction.atomic
def add_members(*, audience: Audience, queryset, actor, source=AudienceMember.Source.BULK) -> int:
    """Add the customers `queryset` selects to a static audience, in one statement."""
    refuse_dynamic(audience)
    added = insert_members(audience, *ids_sql(queryset), source=source, actor=actor)
    after_members_changed(audience, AudienceChange.Action.ADDED, added, actor)
    return added


@transaction.atomic
def remove_members(*, audience: Audience, queryset, actor) -> int:
    refuse_dynamic(audience)
    removed, _by_model = AudienceMember.objects.filter(
        audience=audience, customer__in=queryset.order_by().values("pk")
    ).delete()
    after_members_changed(audience, AudienceChange.Action.REMOVED, removed, actor)
    return removed


# Members written at once beyond which the planner's statistics are refreshed at once.
ANALYZE_AFTER = 10_000


def after_members_changed(audience, action, count: int, actor, detail: str = "") -> None:
    if count >= ANALYZE_AFTER:
        refresh_statistics(AudienceMember)
    if count:
        record_change(
            audience,
            action,
            actor,
            detail or ngettext("%(n)s customer", "%(n)s customers", count) % {"n": f"{count:,}"},
        )
        Audience.objects.filter(pk=audience.pk).update(updated_at=timezone.now())
    transaction.on_commit(lambda: refresh_size(audience))


# Counting ------------------------------------------------------------------------------------


def members_of(audience: Audience):
    """The audience's members as the customer list shows them (live customers): what
    `audience=<id>` selects, without reading the audience again."""
    return in_audience(Customer.objects.live(), audience)


def refresh_size(audience: Audience) -> int:
    """Count the audience exactly and keep the count on it."""
    size = members_of(audience).order_by().count()
    now = timezone.now()
    Audience.objects.filter(pk=audience.pk).update(size=size, counted_at=now)
    audience.size, audience.counted_at = size, now
    return size


def refresh_sizes(*, older_than_minutes: int = 0) -> int:
    """Recount every live audience (or those counted longer ago than the given minutes)."""
    audiences = Audience.objects.filter(archived=False)
    if older_than_minutes:
        cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
        audiences = audiences.filter(counted_at__lt=cutoff) | audiences.filter(
            counted_at__isnull=True
        )
    count = 0
    for audience in audiences:
        refresh_size(audience)
        count += 1
    return count


def refresh_stale_sizes() -> int:
    """The worker's periodic recount: audiences counted longer ago than AUDIENCE_COUNT_MINUTES."""
    return refresh_sizes(older_than_minutes=settings.AUDIENCE_COUNT_MINUTES)


# Snapshots and freezes -----------------------------------------------------------------------


def create_static_from_rule(*, name: str, description: str, rule: str, actor, everyone_ok=False):
    """A new static audience holding everyone the rule selects now (the snapshot runs at once
    when small, else as a job with a progress bar). Returns (audience, job)."""
    rule = check_rule(rule, everyone_ok=everyone_ok)
    audience = Audience(
        name=name, description=description, kind=Audience.Kind.STATIC, rule=rule, owner=actor
    )
    audience.name, audience.name_key = check_name(name)
    try:
        with transaction.atomic():
            audience.save()
            record_change(audience, AudienceChange.Action.CREATED, actor)
    except IntegrityError:
        raise ValidationError(
            {"name": _("An audience named “%(name)s” already exists.") % {"name": name}}
        ) from None
    job = start_snapshot(audience=audience, kind=AudienceJob.Kind.SNAPSHOT, actor=actor)
    return audience, job


def start_snapshot(*, audience: Audience, kind: str, actor, via="web") -> AudienceJob:
    """Start a snapshot (into a new static audience) or a freeze (of a dynamic one). At most
    one runs per audience; a second is refused with who started the first."""
    if kind == AudienceJob.Kind.FREEZE and audience.is_static:
        raise ValidationError(_("“%(name)s” is already static.") % {"name": audience.name})
    try:
        with transaction.atomic():
            job = AudienceJob.objects.create(
                audience=audience, kind=kind, rule=audience.rule, created_by=actor, via=via
            )
    except IntegrityError:
        running = audience.jobs.filter(status__in=["queued", "running"]).first()
        who = running.created_by if running and running.created_by else _("someone")
        raise ValidationError(
            _("%(who)s is already taking a snapshot of “%(name)s”; it will be ready shortly.")
            % {"who": who, "name": audience.name},
            code="busy",
        ) from None
    rule_customers = customers_matching(job.rule)
    if via != "web" or not capped_count(rule_customers, settings.BULK_SYNC_ROW_LIMIT)[1]:
        return run_snapshot_job(job.pk)
    job.enqueue()
    return job


def _snapshot(job: AudienceJob) -> dict:
    """Insert the rule's customers as members, a span of customer ids at a time (each its own
    statement, so the progress bar moves); a freeze then turns the audience static. A retry
    after a failure starts again from the beginning: inserts skip members already there."""
    audience = job.audience
    customers = customers_matching(job.rule)
    bounds = Customer.objects.aggregate(low=Min("pk"), high=Max("pk"))
    low, high = bounds["low"] or 0, bounds["high"] or 0
    job.beat(total_rows=max(high - low + 1, 0), rows_done=0)
    if job.kind == AudienceJob.Kind.FREEZE:
        AudienceMember.objects.filter(audience=audience).delete()  # a failed try's rows
    added = 0
    start = low
    while start <= high:
        stop = start + SNAPSHOT_ID_SPAN
        span = customers.filter(pk__gte=start, pk__lt=stop)
        added += insert_members(
            audience, *ids_sql(span), source=AudienceMember.Source.SNAPSHOT, actor=job.created_by
        )
        job.beat(rows_done=min(stop, high + 1) - low)
        start = stop
    if added >= ANALYZE_AFTER:
        refresh_statistics(AudienceMember)
    now = timezone.now()
    with transaction.atomic():
        if job.kind == AudienceJob.Kind.FREEZE:
            Audience.objects.filter(pk=audience.pk).update(
                kind=Audience.Kind.STATIC, frozen_at=now, freeze_on=None, updated_at=now
            )
            action = AudienceChange.Action.FROZEN
        else:
            Audience.objects.filter(pk=audience.pk).update(frozen_at=now, updated_at=now)
            action = AudienceChange.Action.ADDED
        record_change(
            audience,
            action,
            job.created_by,
            ngettext(
                "%(n)s customer, as the rule selected them at %(at)s",
                "%(n)s customers, as the rule selected them at %(at)s",
                added,
            )
            % {"n": f"{added:,}", "at": timezone.localtime(now).strftime("%Y-%m-%d %H:%M")},
        )
    audience.refresh_from_db()
    refresh_size(audience)
    return {"added": added}


def run_job(job_id: int, work) -> AudienceJob:
    """Run a queued audience job with `work(job) -> outcome`; a failure is kept on the job."""
    job, claimed = AudienceJob.claim(job_id)
    if not claimed:
        return job
    try:
        outcome = work(job)
    except Exception as error:
        logger.exception("audience job %s failed", job.pk)
        job.fail(" ".join(getattr(error, "messages", [])) or error)
        return job
    job.finish(outcome=outcome)
    if job.upload:  # read and applied: only a failed run keeps its file, for the retry
        job.upload.delete(save=False)
        AudienceJob.objects.filter(pk=job.pk).update(upload="")
    return job


def run_snapshot_job(job_id: int) -> AudienceJob:
    return run_job(job_id, _snapshot)


def freeze_due(*, today=None, actor=None) -> list[AudienceJob]:
    """Freeze every dynamic audience whose freeze date has come (the daily run)."""
    today = today or timezone.localdate()
    due = Audience.objects.filter(
        kind=Audience.Kind.DYNAMIC, freeze_on__lte=today, archived=False
    ).order_by("pk")
    jobs = []
    for audience in due:
        try:
            jobs.append(
                start_snapshot(
                    audience=audience, kind=AudienceJob.Kind.FREEZE, actor=actor, via="command"
                )
            )
        except ValidationError as error:
            logger.warning("audience %s not frozen: %s", audience.pk, " ".join(error.messages))
    return jobs


# Bulk actions from the customer list ---------------------------------------------------------


def _bulk_members(job: BulkChange) -> int:
    audience = Audience.objects.get(pk=job.parameters["audience"])
    queryset = bulk_queryset(job)
    if job.kind == BulkChange.Kind.AUDIENCE_ADD:
        return add_members(audience=audience, queryset=queryset, actor=job.created_by)
    return remove_members(audience=audience, queryset=queryset, actor=job.created_by)


def register_bulk_actions() -> None:
    register_bulk_action(BulkChange.Kind.AUDIENCE_ADD, _bulk_members)
    register_bulk_action(BulkChange.Kind.AUDIENCE_REMOVE, _bulk_members)
