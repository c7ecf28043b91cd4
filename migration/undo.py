"""Undo an import: delete the customers it created, put back the values it changed, take back
the points and tags it added — exactly what its ImportBatch rows recorded.

A customer changed by someone else since the import (its `updated_at` is later than the batch
that wrote it) is a conflict: the undo refuses, naming them, unless forced — forcing restores the
recorded values over the later change. A created customer who has since gained orders,
redemptions, tasks or points of their own is never deleted, forced or not (their ledger would be
lost); the undo refuses and says who. The undo runs in one transaction: all of it or none.
"""

import logging
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from customers.models import (
    Customer,
    CustomerEvent,
    CustomerTask,
    MarketingConsent,
    Order,
    PointsTransaction,
    RewardRedemption,
)
from customers.phone import phone_search_forms
from migration import writer
from migration.engine import forget_cached_figures
from migration.models import ImportJob
from migration.pipeline import CONSENT_COLUMNS, EVENT_COLUMNS, RANK_COLUMNS, rank_change_row
from migration.rows import CONSENT_PREFIX, CUSTOMER_FIELDS, SEARCH_INPUTS, search_text_of
from ranks.models import Rank, RankChange
from ranks.services import reevaluate_customers
from tags.models import CustomerTag, Tag

logger = logging.getLogger("loyalty.imports")
CHUNK = 5000
SHOWN = 20


class UndoRefused(Exception):
    """The undo cannot go ahead as asked; the message says why and for whom."""


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def plan(job: ImportJob) -> dict:
    """What the undo would do and what stands in its way, without changing anything."""
    created, previous, points, links, written = [], {}, {}, [], {}
    for batch in job.batches.all():
        created.extend(batch.created_ids)
        for key, values in batch.previous.items():
            previous[int(key)] = values
            written[int(key)] = batch.written_at
        for key, delta in batch.points.items():
            points[int(key)] = delta
            written[int(key)] = batch.written_at
        for customer_id in batch.created_ids:
            written[customer_id] = batch.written_at
        links.extend(tuple(pair) for pair in batch.tag_links)
    touched = sorted(written)
    # Another import's undo puts back what that import changed; it is not someone's change.
    undos = set(
        ImportJob.objects.filter(undone_at__isnull=False)
        .exclude(pk=job.pk)
        .values_list("undone_at", flat=True)
    )
    changed_since, has_history = [], []
    for chunk in _chunks(touched):
        for pk, number, updated_at in Customer.objects.filter(pk__in=chunk).values_list(
            "pk", "member_number", "updated_at"
        ):
            if updated_at > written[pk] and updated_at not in undos:
                changed_since.append(number)
    reference = job.reference
    for chunk in _chunks(created):
        busy = (
            Customer.objects.filter(pk__in=chunk)
            .filter(
                Q(pk__in=Order.objects.values("customer_id"))
                | Q(pk__in=RewardRedemption.objects.values("customer_id"))
                | Q(pk__in=CustomerTask.objects.values("customer_id"))
                | Q(
                    pk__in=PointsTransaction.objects.exclude(reference=reference).values(
                        "customer_id"
                    )
                )
            )
            .values_list("member_number", flat=True)
        )
        has_history.extend(busy)
    return {
        "created": created,
        "previous": previous,
        "points": points,
        "links": links,
        "changed_since": changed_since,
        "has_history": has_history,
    }


def _names(numbers: list[str]) -> str:
    shown = ", ".join(numbers[:SHOWN])
    return shown + (
        _(" and %(count)s more") % {"count": len(numbers) - SHOWN} if len(numbers) > SHOWN else ""
    )


def undo(job: ImportJob, *, actor=None, force: bool = False) -> dict:
    """Undo `job`; raises UndoRefused with the reason. Returns what was done."""
    if job.dry_run or job.undone_at is not None:
        raise UndoRefused(_("This import has nothing to undo."))
    steps = plan(job)
    if steps["has_history"]:
        raise UndoRefused(
            _(
                "%(count)s customers created by this import have orders, redemptions, tasks or "
                "points of their own since, and cannot be deleted: %(names)s."
            )
            % {"count": len(steps["has_history"]), "names": _names(steps["has_history"])}
        )
    if steps["changed_since"] and not force:
        raise UndoRefused(
            _(
                "%(count)s customers were changed by someone else after the import: %(names)s. "
                "Undo anyway (force) to put the imported-over values back regardless."
            )
            % {"count": len(steps["changed_since"]), "names": _names(steps["changed_since"])}
        )
    reference, note = job.reference, _("Import #%(id)s undone") % {"id": job.pk}
    now = timezone.now()
    with transaction.atomic():
        _remove_links(steps["links"])
        _take_back_points(steps["points"], set(steps["created"]), reference, actor, now)
        _restore(steps["previous"], now, actor=actor, note=note)
        restored = sorted(set(steps["previous"]) | set(steps["points"]) - set(steps["created"]))
        writer.insert(
            CustomerEvent,
            EVENT_COLUMNS,
            [
                (
                    pk,
                    CustomerEvent.Kind.UPDATED,
                    actor.pk if actor else None,
                    note,
                    {},
                    now,
                )
                for pk in restored
            ],
        )
        for chunk in _chunks(steps["created"]):
            PointsTransaction.objects.filter(customer_id__in=chunk, reference=reference).delete()
            Customer.objects.filter(pk__in=chunk).delete()
        Tag.objects.filter(pk__in=job.created_tag_ids, customers__isnull=True).delete()
        if restored:
            reevaluate_customers(restored, actor=actor, now=now)
        job.status = ImportJob.Status.UNDONE
        job.undone_at, job.undone_by, job.undo_forced, job.undo_error = now, actor, force, ""
        job.save(update_fields=["status", "undone_at", "undone_by", "undo_forced", "undo_error"])
    forget_cached_figures()
    counts = {"deleted": len(steps["created"]), "restored": len(restored)}
    logger.info("import %s undone by user %s: %s", job.pk, actor.pk if actor else None, counts)
    return counts


def _remove_links(links: list[tuple[int, int]]) -> None:
    by_tag = defaultdict(list)
    for customer_id, tag_id in links:
        by_tag[tag_id].append(customer_id)
    for tag_id, customers in by_tag.items():
        for chunk in _chunks(customers):
            CustomerTag.objects.filter(
                tag_id=tag_id, customer_id__in=chunk, source=CustomerTag.Source.IMPORT
            ).delete()


def _take_back_points(points: dict, created: set, reference: str, actor, now) -> None:
    """A reversing ledger entry for each updated customer whose balance the import moved."""
    moved = {pk: delta for pk, delta in points.items() if pk not in created}
    rows, balances = [], []
    for chunk in _chunks(sorted(moved)):
        for pk, balance, lifetime in Customer.objects.filter(pk__in=chunk).values_list(
            "pk", "points_balance", "lifetime_points"
        ):
            delta = moved[pk]
            after = max(balance - delta, 0)
            rows.append(
                (
                    pk,
                    after - balance,
                    PointsTransaction.Reason.IMPORT,
                    after,
                    f"undo of {reference}",
                    now,
                    actor.pk if actor else None,
                )
            )
            balances.append((pk, after, lifetime - delta if delta > 0 else lifetime))
    writer.insert(
        PointsTransaction,
        [
            "customer_id",
            "delta",
            "reason",
            "balance_after",
            "reference",
            "created_at",
            "created_by_id",
        ],
        rows,
    )
    writer.update(Customer, ["points_balance", "lifetime_points"], balances)


def _restore_consents(previous: dict[int, dict]) -> dict[int, dict]:
    """Put back the marketing consent the import changed (an answer it gave where there was
    none is removed); returns `previous` without the consent entries."""
    fields, removed, restored = {}, defaultdict(list), []
    for pk, values in previous.items():
        for key in [key for key in values if key.startswith(CONSENT_PREFIX)]:
            state, channel = values[key], key.removeprefix(CONSENT_PREFIX)
            if state is None:
                removed[channel].append(pk)
            else:
                granted, changed_at, source = state
                restored.append((pk, channel, granted, parse_datetime(changed_at), source))
        fields[pk] = {k: v for k, v in values.items() if not k.startswith(CONSENT_PREFIX)}
    for channel, pks in removed.items():
        for chunk in _chunks(pks):
            MarketingConsent.objects.filter(customer_id__in=chunk, channel=channel).delete()
    writer.upsert(MarketingConsent, CONSENT_COLUMNS, restored, key=("customer_id", "channel"))
    return fields


def _restore(previous: dict[int, dict], now, *, actor=None, note: str = "") -> None:
    """Put the recorded values back, column sets grouped so each group is one UPDATE. A rank
    put back is a rank change like any other: it goes into the rank history."""
    rank_names = dict(Rank.objects.values_list("pk", "name"))
    history = []
    previous = _restore_consents(previous)

    groups = defaultdict(list)
    for pk, values in previous.items():
        groups[tuple(sorted(values))].append(pk)
    for columns, pks in groups.items():
        fields = [CUSTOMER_FIELDS[name] for name in columns]
        for chunk in _chunks(pks):
            current = {
                row["id"]: row
                for row in Customer.objects.filter(pk__in=chunk).values(
                    "id", "rank_id", *SEARCH_INPUTS
                )
            }
            rows = []
            for pk in chunk:
                if pk not in current:
                    continue
                values = {
                    field.attname: field.to_python(previous[pk][field.attname]) for field in fields
                }
                search = {**current[pk], **{k: v for k, v in values.items() if k in SEARCH_INPUTS}}
                search_text = search_text_of(search, phone_search_forms(search["phone"] or ""))
                rows.append((pk, *(values[name] for name in columns), search_text, now))
                was, back = current[pk]["rank_id"], values.get("rank_id", current[pk]["rank_id"])
                if was != back:
                    history.append(
                        rank_change_row(
                            pk,
                            was,
                            back,
                            rank_names,
                            RankChange.Reason.IMPORT,
                            note,
                            0,
                            actor.pk if actor else None,
                            now,
                        )
                    )
            writer.update(Customer, [*columns, "search_text", "updated_at"], rows)
    writer.insert(RankChange, RANK_COLUMNS, history)


def queue_undo(job: ImportJob, *, actor, force: bool) -> ImportJob:
    if not job.can_undo:
        raise UndoRefused(_("This import has nothing to undo."))
    job.status = ImportJob.Status.UNDOING
    job.undo_error = ""
    job.save(update_fields=["status", "undo_error"])
    job.enqueue(actor.pk if actor else None, force, task_name="migration.tasks.undo_import_task")
    return job


def run_undo(job_id: int, actor_id: int | None, force: bool) -> ImportJob:
    """The worker's side of "Undo import": a refusal or crash puts the job back to done with
    the reason, so the user can read it and try again (forced, say). The job's row stays
    locked throughout, and a task run again after the first settled it does nothing."""
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.status != ImportJob.Status.UNDOING:
            return job
        try:
            undo(job, actor=actor, force=force)  # in a savepoint of its own
        except Exception as error:
            if not isinstance(error, UndoRefused):
                logger.error("undo of import %s failed: %s", job.pk, type(error).__name__)
            job.status = ImportJob.Status.DONE
            job.undo_error = str(error)[:2000]
            job.save(update_fields=["status", "undo_error"])
    return job
