"""Writes about ranks: recalculation, per-customer evaluation, manual ranks, the ladder,
simulation, and re-evaluation of a set of customers for other apps. Just over 500 lines because
it is the app's one write API (STYLE.md: writes live in services.py); each part is short."""

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.bulk import bulk_queryset, register_bulk_action
from customers.models import BulkChange, Customer
from ranks import engine
from ranks.models import Rank, RankChange, RankPolicy, RankRecalculation, RankSimulation
from ranks.selectors import forget_members_per_rank

logger = logging.getLogger("loyalty.ranks")


class RecalculationBusy(ValidationError):
    pass


def _lock_policy() -> RankPolicy:
    """Take the policy row's lock: recalculations, policy edits and rank deletions serialise."""
    RankPolicy.current()  # make sure the row exists before locking it
    try:
        return RankPolicy.objects.select_for_update(nowait=True).get(pk=1)
    except DatabaseError as error:
        raise RecalculationBusy(
            _("A rank recalculation is already running; try again when it has finished."),
            code="busy",
        ) from error


def recalculate_all(*, actor=None, now=None, settings=None) -> dict:
    """Every live customer's rank under the current policy, in one transaction."""
    now = now or timezone.now()
    with transaction.atomic():
        policy = _lock_policy()
        counts = engine.apply_all(settings or engine.Settings.current(), now=now, actor=actor)
        policy.last_recalculated_at = now
        policy.save(update_fields=["last_recalculated_at", "updated_at"])
    forget_members_per_rank()
    logger.info("rank recalculation: %s", counts)
    return counts


def run_recalculation(job_id: int) -> RankRecalculation:
    """Run a queued recalculation job; a failure changes no rank and is kept on the job."""
    job, claimed = RankRecalculation.claim(job_id)
    if not claimed:
        return job
    try:
        job.evaluated = Customer.objects.live().filter(anonymised_at__isnull=True).count()
        counts = recalculate_all(actor=job.created_by)
    except Exception as error:
        logger.exception("rank recalculation %s failed", job.pk)
        job.fail(" ".join(getattr(error, "messages", [])) or error, evaluated=job.evaluated)
        return job
    job.finish(
        evaluated=job.evaluated,
        upgraded=counts["upgraded"],
        downgraded=counts["downgraded"],
        grace_started=counts["grace_started"],
        overrides_ended=counts["overrides_ended"],
    )
    return job


def queue_recalculation(*, actor, via: str = "web") -> RankRecalculation:
    """Queue a background recalculation unless one is already queued or running."""
    busy = RecalculationBusy(
        _("A rank recalculation is already queued or running."), code="busy", params={}
    )
    if RankRecalculation.objects.filter(
        status__in=[RankRecalculation.Status.QUEUED, RankRecalculation.Status.RUNNING]
    ).exists():
        raise busy
    try:
        with transaction.atomic():  # two requests at once: the database keeps one
            job = RankRecalculation.objects.create(created_by=actor, via=via)
    except IntegrityError:
        raise busy from None
    job.enqueue()
    return job


def retry_recalculation(job: RankRecalculation) -> RankRecalculation:
    try:
        with transaction.atomic():
            job.retry()
    except IntegrityError:
        raise RecalculationBusy(
            _("A rank recalculation is already queued or running."), code="busy", params={}
        ) from None
    job.enqueue()
    return job


def evaluate_customer(customer_id: int, *, actor=None, now=None) -> RankChange | None:
    """Re-evaluate one customer after activity (order, points, import): the Python rules."""
    now = now or timezone.now()
    settings = engine.Settings.current()
    with transaction.atomic():
        customer = (
            Customer.objects.select_for_update()
            .filter(pk=customer_id, archived_at__isnull=True, anonymised_at__isnull=True)
            .first()
        )
        if customer is None:
            return None
        amount = engine.qualifying_amount(customer.pk, settings, now)
        decision = engine.decide(
            settings,
            rank_id=customer.rank_id,
            amount=amount,
            overridden=customer.rank_overridden,
            override_expires_at=customer.rank_override_expires_at,
            grace_until=customer.rank_grace_until,
            now=now,
        )
        change = None
        if decision.rank_id != customer.rank_id:
            change = _record_change(
                customer, decision.rank_id, decision.reason, actor, now, amount=amount
            )
        customer.rank_id = decision.rank_id
        customer.rank_grace_until = decision.grace_until
        if decision.override_ends:
            customer.rank_overridden = False
            customer.rank_override_expires_at = None
        customer.save(
            update_fields=[
                "rank",
                "rank_grace_until",
                "rank_overridden",
                "rank_override_expires_at",
                "updated_at",
            ]
        )
    return change


def _record_change(customer, to_rank_id, reason, actor, now, *, amount=None, note=""):
    names = dict(
        Rank.objects.filter(pk__in=[customer.rank_id, to_rank_id]).values_list("pk", "name")
    )
    return RankChange.objects.create(
        customer=customer,
        from_rank_id=customer.rank_id,
        to_rank_id=to_rank_id,
        from_name=names.get(customer.rank_id, ""),
        to_name=names.get(to_rank_id, ""),
        reason=reason,
        note=note,
        qualifying_amount=amount,
        actor=actor,
        created_at=now,
    )


def set_override(*, customer: Customer, rank: Rank, reason: str, expires_at=None, actor) -> None:
    """Give a customer a rank by hand, with the reason and an optional end."""
    reason = (reason or "").strip()
    now = timezone.now()
    if not reason:
        raise ValidationError({"reason": _("Say why this customer gets a rank by hand.")})
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": _("The end of a manual rank must be in the future.")})
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.rank_id != rank.pk or not customer.rank_overridden:
            _record_change(customer, rank.pk, RankChange.Reason.OVERRIDE, actor, now, note=reason)
        customer.rank = rank
        customer.rank_overridden = True
        customer.rank_override_expires_at = expires_at
        customer.rank_grace_until = None
        customer.save(
            update_fields=[
                "rank",
                "rank_overridden",
                "rank_override_expires_at",
                "rank_grace_until",
                "updated_at",
            ]
        )


@transaction.atomic
def bulk_set_override(*, queryset, rank: Rank, reason: str, expires_at=None, actor) -> int:
    """`set_override` for every live customer of `queryset`, set-based: one rank-history row
    for each customer whose rank (or manual marker) changes, then one UPDATE. Returns how many
    customers now hold the rank by hand."""
    reason = (reason or "").strip()
    now = timezone.now()
    if not reason:
        raise ValidationError({"reason": _("Say why these customers get a rank by hand.")})
    if expires_at is not None and expires_at <= now:
        raise ValidationError({"expires_at": _("The end of a manual rank must be in the future.")})
    _lock_policy()  # a recalculation does not run meanwhile
    ids = queryset.order_by().filter(archived_at__isnull=True, anonymised_at__isnull=True)
    moving = ids.exclude(rank=rank, rank_overridden=True).values("id")
    sub_sql, sub_params = moving.query.sql_with_params()
    with connection.cursor() as cursor:
        query = engine.SQL().add(
            f"""INSERT INTO {engine.CHANGE} (customer_id, from_rank_id, to_rank_id, from_name,
                    to_name, reason, note, qualifying_amount, actor_id, created_at)
                SELECT c.id, c.rank_id, %s, COALESCE(r.name, ''), %s, %s, %s, NULL, %s, %s
                FROM {engine.CUSTOMER} c LEFT JOIN {engine.RANK} r ON r.id = c.rank_id
                WHERE c.id IN ({sub_sql})""",  # noqa: S608
            rank.pk,
            rank.name,
            RankChange.Reason.OVERRIDE,
            reason,
            actor.pk if actor else None,
            now,
            *sub_params,
        )
        cursor.execute(query.sql, query.params)
    changed = Customer.objects.filter(pk__in=ids.values("id")).update(
        rank=rank,
        rank_overridden=True,
        rank_override_expires_at=expires_at,
        rank_grace_until=None,
        updated_at=now,
    )
    logger.info(
        "bulk manual rank %s on %s customers by user %s",
        rank.pk,
        changed,
        actor.pk if actor else None,
    )
    return changed


def end_override(*, customer: Customer, actor) -> RankChange | None:
    """End a manual rank now; the policy decides the rank again at once."""
    with transaction.atomic():
        Customer.objects.filter(pk=customer.pk).update(
            rank_override_expires_at=timezone.now() - timedelta(seconds=1)
        )
        return evaluate_customer(customer.pk, actor=actor)


# --- Rank ladder ------------------------------------------------------------------------------


def validate_ladder(ranks: list[Rank]) -> None:
    """Levels and codes unique, thresholds strictly increasing with level, exactly one default."""
    errors = []
    levels = [rank.level for rank in ranks]
    if len(set(levels)) != len(levels):
        errors.append(_("Two ranks have the same level."))
    codes = [rank.code.lower() for rank in ranks]
    if len(set(codes)) != len(codes):
        errors.append(_("Two ranks have the same code."))
    ordered = sorted(ranks, key=lambda rank: rank.level)
    for lower, higher in pairwise(ordered):
        if Decimal(higher.threshold) <= Decimal(lower.threshold):
            errors.append(
                _(
                    "Thresholds must rise with the level: %(higher)s (level %(hl)s) needs more "
                    "than %(lower)s (level %(ll)s, %(threshold)s)."
                )
                % {
                    "higher": higher.name,
                    "hl": higher.level,
                    "lower": lower.name,
                    "ll": lower.level,
                    "threshold": f"{Decimal(lower.threshold):,.0f}",
                }
            )
    defaults = [rank for rank in ranks if rank.is_default]
    if len(defaults) != 1:
        errors.append(
            _("Exactly one rank must be the default for new members (now %(n)s).")
            % {"n": len(defaults)}
        )
    if errors:
        raise ValidationError(errors)


def ladder_with(candidate: Rank) -> list[Rank]:
    """The saved ranks with `candidate` added or replacing its saved version."""
    ranks = [rank for rank in Rank.objects.all() if rank.pk != candidate.pk]
    if candidate.is_default:
        for rank in ranks:
            rank.is_default = False
    return [*ranks, candidate]


@transaction.atomic
def save_rank(*, rank: Rank, actor) -> Rank:
    """Save a new or edited rank after checking the whole ladder; another default gives way."""
    ladder = ladder_with(rank)
    validate_ladder(ladder)
    if rank.is_default:
        Rank.objects.exclude(pk=rank.pk).filter(is_default=True).update(is_default=False)
    rank.save()
    logger.info("rank %s saved by user %s", rank.pk, actor.pk if actor else None)
    return rank


@transaction.atomic
def delete_rank(*, rank: Rank, move_to: Rank | None, actor) -> int:
    """Move the rank's members to `move_to` (recording each change) and delete the rank."""
    _lock_policy()
    others = Rank.objects.exclude(pk=rank.pk)
    if not others.exists():
        raise ValidationError(_("The last rank cannot be deleted: members always have a rank."))
    if rank.is_default:
        raise ValidationError(
            _("This is the default rank for new members; make another rank the default first.")
        )
    if move_to is None or move_to.pk == rank.pk:
        raise ValidationError(_("Choose the rank its members move to."))
    now = timezone.now()
    with connection.cursor() as cursor:
        query = engine.SQL().add(
            f"""INSERT INTO {engine.CHANGE} (customer_id, from_rank_id, to_rank_id, from_name,
                    to_name, reason, note, qualifying_amount, actor_id, created_at)
                SELECT id, %s, %s, %s, %s, %s, %s, NULL, %s, %s FROM {engine.CUSTOMER}
                WHERE rank_id = %s""",  # noqa: S608
            rank.pk,
            move_to.pk,
            rank.name,
            move_to.name,
            RankChange.Reason.RANK_DELETED,
            _("Rank “%(name)s” deleted") % {"name": rank.name},
            actor.pk if actor else None,
            now,
            rank.pk,
        )
        cursor.execute(query.sql, query.params)
    moved = Customer.objects.filter(rank=rank).update(rank=move_to, updated_at=now)
    rank.delete()
    logger.info("rank %s deleted, %s members moved to %s", rank.pk, moved, move_to.pk)
    return moved


def next_lower(rank: Rank) -> Rank | None:
    lower = Rank.objects.filter(level__lt=rank.level).order_by("-level").first()
    return lower or Rank.objects.exclude(pk=rank.pk).order_by("level").first()


# --- Impact simulation -------------------------------------------------------------------------

SIMULATION_LIFETIME = timedelta(days=1)


def simulate(*, proposal: dict, actor, now=None) -> RankSimulation:
    """What `proposal` (policy fields and/or rank thresholds) would do to members now.

    Nothing but the simulation is written. `proposal` is {"policy": {...}, "thresholds":
    {rank id: threshold}, "levels": {rank id: level}}; saving it later goes through
    `apply_proposal`, which runs the same engine.
    """
    now = now or timezone.now()
    settings = settings_for(proposal)
    with transaction.atomic():
        RankSimulation.objects.filter(created_at__lt=now - SIMULATION_LIFETIME).delete()
        moves = engine.simulate(settings, now=now)
        with connection.cursor() as cursor:
            grace_started = engine.decision_counts(cursor)["grace_started"]
        simulation = RankSimulation.objects.create(
            proposal=proposal_json(proposal), created_by=actor, created_at=now
        )
        levels = {pk: level for pk, level, _t in settings.ladder}
        with connection.cursor() as cursor:
            # Who moves, per (from, to) pair, in the direction _direction() gives the counts.
            for from_rank, to_rank, _count in moves:
                query = engine.SQL().add(
                    """INSERT INTO ranks_ranksimulationmember
                           (simulation_id, customer_id, from_rank_id, to_rank_id, direction)
                       SELECT %s, customer_id, old_rank_id, new_rank_id, %s FROM rank_decision
                       WHERE old_rank_id IS NOT DISTINCT FROM %s
                         AND new_rank_id IS NOT DISTINCT FROM %s""",
                    simulation.pk,
                    _direction(levels, from_rank, to_rank),
                    from_rank,
                    to_rank,
                )
                cursor.execute(query.sql, query.params)
        engine.drop_temporary_tables()
        simulation.counts = {**_impact_counts(moves, levels), "grace_started": grace_started}
        simulation.save(update_fields=["counts"])
    return simulation


def _direction(levels: dict, from_rank, to_rank) -> str:
    """ "up" when the member lands on a higher rank (or had none), "down" otherwise."""
    if levels.get(from_rank) is None or levels.get(to_rank, 0) > levels.get(from_rank, 0):
        return "up"
    return "down"


def _impact_counts(moves, levels: dict) -> dict:
    """Per rank: members now, moving up out of it, down out of it, and members after."""
    before = dict(
        Customer.objects.live()
        .filter(anonymised_at__isnull=True)
        .order_by()
        .values_list("rank")
        .annotate(n=Count("pk"))
    )
    rows = {pk: {"before": before.get(pk, 0), "up": 0, "down": 0, "in": 0} for pk in levels}
    up = down = 0
    for from_rank, to_rank, count in moves:
        direction = _direction(levels, from_rank, to_rank)
        up += count if direction == "up" else 0
        down += count if direction == "down" else 0
        if from_rank in rows:
            rows[from_rank][direction] += count
        if to_rank in rows:
            rows[to_rank]["in"] += count
    for row in rows.values():
        row["after"] = row["before"] - row["up"] - row["down"] + row["in"]
        row["stay"] = row["before"] - row["up"] - row["down"]
    return {
        "up": up,
        "down": down,
        "ranks": {str(pk): row for pk, row in rows.items()},
    }


def settings_for(proposal: dict) -> engine.Settings:
    policy = RankPolicy.current()
    for name, value in (proposal.get("policy") or {}).items():
        setattr(policy, name, value)
    ranks = list(Rank.objects.all())
    for rank in ranks:
        level = (proposal.get("levels") or {}).get(str(rank.pk))
        if level is not None:
            rank.level = int(level)
    thresholds = {
        int(pk): Decimal(str(value)) for pk, value in (proposal.get("thresholds") or {}).items()
    }
    return engine.Settings.build(policy, ranks, thresholds)


def proposal_json(proposal: dict) -> dict:
    return {
        "policy": dict(proposal.get("policy") or {}),
        "thresholds": {str(k): str(v) for k, v in (proposal.get("thresholds") or {}).items()},
        "levels": {str(k): int(v) for k, v in (proposal.get("levels") or {}).items()},
    }


def apply_proposal(*, simulation, actor, now=None) -> dict:
    """Save what a simulation previewed, then recalculate: the same engine, the same rules."""
    now = now or timezone.now()
    proposal = simulation.proposal
    with transaction.atomic():
        policy = _lock_policy()
        for name, value in (proposal.get("policy") or {}).items():
            setattr(policy, name, value)
        policy.updated_by = actor
        policy.full_clean()
        policy.save()
        ranks = list(Rank.objects.all())
        for rank in ranks:
            if str(rank.pk) in (proposal.get("thresholds") or {}):
                rank.threshold = Decimal(proposal["thresholds"][str(rank.pk)])
            if str(rank.pk) in (proposal.get("levels") or {}):
                rank.level = int(proposal["levels"][str(rank.pk)])
        validate_ladder(ranks)
        # Levels are unique: park them out of the way before writing the new ones.
        Rank.objects.filter(pk__in=[rank.pk for rank in ranks]).update(level=F("level") + 10000)
        for rank in ranks:
            Rank.objects.filter(pk=rank.pk).update(level=rank.level, threshold=rank.threshold)
        # The same recalculation as everywhere, inside this transaction (the lock is ours).
        return recalculate_all(actor=actor, now=now)


def _bulk_rank(job) -> int:
    expires_at = job.parameters.get("expires_at")
    return bulk_set_override(
        queryset=bulk_queryset(job),
        rank=Rank.objects.get(pk=job.parameters["rank_id"]),
        reason=job.parameters["reason"],
        expires_at=datetime.fromisoformat(expires_at) if expires_at else None,
        actor=job.created_by,
    )


def register_bulk_actions() -> None:
    register_bulk_action(BulkChange.Kind.RANK, _bulk_rank)


def reevaluate_customers(customer_ids: list[int], *, actor, now) -> dict:
    """The set-based rank engine over these customers only, inside the caller's transaction
    (an import's or an undo's): their ids go into a temporary table, which the engine joins."""

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS rank_touched")
        cursor.execute("CREATE TEMPORARY TABLE rank_touched (id bigint PRIMARY KEY)")
        unique = sorted(set(customer_ids))
        if connection.vendor == "postgresql":
            cursor.execute("INSERT INTO rank_touched SELECT unnest(%s::bigint[])", [unique])
            # Temporary tables are never analysed by autovacuum; without statistics the
            # planner would aggregate the whole ledger instead of these customers' part.
            cursor.execute("ANALYZE rank_touched")
        else:
            for start in range(0, len(unique), 5000):
                chunk = unique[start : start + 5000]
                marks = ", ".join(["(%s)"] * len(chunk))
                cursor.execute(f"INSERT INTO rank_touched (id) VALUES {marks}", chunk)  # noqa: S608
    counts = engine.apply_all(
        engine.Settings.current(),
        now=now,
        actor=actor,
        customers_sql=("SELECT id FROM rank_touched", []),
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE rank_touched")
    return counts
