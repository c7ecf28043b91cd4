"""The rank assignment engine: who qualifies for which rank, and what the policy then does.

Two paths share one set of rules:

- `decide()` is the rules as plain Python, for one customer (after an order, a points movement
  or an import) and for the "why this rank" panel;
- `evaluate_all()` applies the same rules to every customer with set-based SQL: one pass that
  aggregates the ledger, one temporary table of decisions, one INSERT of history and one
  UPDATE — seconds for a million customers on PostgreSQL, correct on SQLite. A test holds the
  two paths to the same results.

A recalculation runs in one transaction: it either applies every change or none.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from customers.models import Customer, Order, PointsTransaction
from ranks.models import Rank, RankChange, RankPolicy

CUSTOMER = Customer._meta.db_table
ORDER = Order._meta.db_table
POINTS = PointsTransaction._meta.db_table
RANK = Rank._meta.db_table
CHANGE = RankChange._meta.db_table


@dataclass(frozen=True)
class Settings:
    """A policy and a rank ladder: the saved ones, or a proposal being simulated."""

    basis: str
    window: str
    downgrade: str
    grace_days: int
    # (rank id, level, threshold), and the default rank's id.
    ladder: tuple[tuple[int, int, Decimal], ...]
    default_rank_id: int | None

    @classmethod
    def current(cls) -> "Settings":
        return cls.build(RankPolicy.current(), Rank.objects.all())

    @classmethod
    def build(cls, policy, ranks, thresholds: dict[int, Decimal] | None = None) -> "Settings":
        thresholds = thresholds or {}
        ladder = tuple(
            sorted(
                (rank.pk, rank.level, Decimal(thresholds.get(rank.pk, rank.threshold)))
                for rank in ranks
            )
        )
        default = next((rank.pk for rank in ranks if rank.is_default), None)
        return cls(
            basis=policy.basis,
            window=policy.window,
            downgrade=policy.downgrade,
            grace_days=policy.grace_days,
            ladder=tuple(sorted(ladder, key=lambda rung: rung[1])),
            default_rank_id=default,
        )

    def level_of(self, rank_id: int | None) -> int | None:
        return next((level for pk, level, _ in self.ladder if pk == rank_id), None)


def window_start(window: str, now: datetime) -> datetime | None:
    if window == RankPolicy.Window.ROLLING_12_MONTHS:
        return now - timedelta(days=365)
    if window == RankPolicy.Window.CALENDAR_YEAR:
        local = timezone.localtime(now)
        return local.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


def qualifying_amount(customer_id: int, settings: Settings, now: datetime) -> Decimal:
    """Points earned (positive ledger entries) or completed spend, within the window."""
    since = window_start(settings.window, now)
    if settings.basis == RankPolicy.Basis.POINTS:
        rows = PointsTransaction.objects.filter(customer_id=customer_id, delta__gt=0)
        if since:
            rows = rows.filter(created_at__gte=since)
        total = rows.aggregate(total=Sum("delta"))["total"]
    else:
        rows = Order.objects.filter(customer_id=customer_id, status=Order.Status.COMPLETED)
        if since:
            rows = rows.filter(placed_at__gte=since)
        total = rows.aggregate(total=Sum("total"))["total"]
    return Decimal(total or 0)


def qualifying_rank(settings: Settings, amount: Decimal) -> int | None:
    """The highest rank whose threshold the amount reaches; the default rank otherwise."""
    reached = [pk for pk, _level, threshold in settings.ladder if amount >= threshold]
    return reached[-1] if reached else settings.default_rank_id


@dataclass
class Decision:
    rank_id: int | None
    grace_until: datetime | None
    override_ends: bool = False
    reason: str | None = None  # set when the rank changes
    amount: Decimal = Decimal(0)
    target_rank_id: int | None = None
    notes: list[str] = field(default_factory=list)


def decide(
    settings: Settings,
    *,
    rank_id: int | None,
    amount: Decimal,
    overridden: bool,
    override_expires_at: datetime | None,
    grace_until: datetime | None,
    now: datetime,
) -> Decision:
    """What the policy does to one customer now. Mirrored by the SQL in `_decision_sql`."""
    target = qualifying_rank(settings, amount)
    if overridden and (override_expires_at is None or override_expires_at > now):
        return Decision(rank_id, grace_until, amount=amount, target_rank_id=target)
    if overridden:  # the manual rank has expired: the policy applies again, without grace
        reason = RankChange.Reason.OVERRIDE_ENDED if target != rank_id else None
        return Decision(target, None, True, reason, amount, target)
    old_level, new_level = settings.level_of(rank_id), settings.level_of(target)
    if new_level is None:
        return Decision(rank_id, grace_until, amount=amount, target_rank_id=target)
    if old_level is None or new_level > old_level:
        return Decision(target, None, False, RankChange.Reason.QUALIFICATION, amount, target)
    if new_level == old_level:
        return Decision(rank_id, None, amount=amount, target_rank_id=target)
    if settings.downgrade == RankPolicy.Downgrade.NEVER:
        return Decision(rank_id, None, amount=amount, target_rank_id=target)
    if settings.downgrade == RankPolicy.Downgrade.AT_EVALUATION:
        return Decision(target, None, False, RankChange.Reason.DOWNGRADE, amount, target)
    if grace_until is None:
        deadline = now + timedelta(days=settings.grace_days)
        return Decision(rank_id, deadline, amount=amount, target_rank_id=target)
    if grace_until <= now:
        return Decision(target, None, False, RankChange.Reason.GRACE_ENDED, amount, target)
    return Decision(rank_id, grace_until, amount=amount, target_rank_id=target)


# --- Set-based path -------------------------------------------------------------------------


def _param(value):
    """A raw-SQL parameter in the form the ORM stores (naive UTC text on SQLite)."""
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


class SQL:
    """Raw SQL built piece by piece, keeping its parameters in placeholder order."""

    def __init__(self):
        self.parts, self.params = [], []

    def add(self, text: str, *params) -> "SQL":
        assert text.count("%s") == len(params), text
        self.parts.append(text)
        self.params.extend(_param(value) for value in params)
        return self

    @property
    def sql(self) -> str:
        return " ".join(self.parts)


def _amounts(query: SQL, settings: Settings, now: datetime, customers_sql=None) -> None:
    since = window_start(settings.window, now)
    if settings.basis == RankPolicy.Basis.POINTS:
        query.add(f"SELECT customer_id, SUM(delta) AS amount FROM {POINTS} WHERE delta > 0")  # noqa: S608
        column = "created_at"
    else:
        query.add(
            f"SELECT customer_id, SUM(total) AS amount FROM {ORDER}"  # noqa: S608
            " WHERE status = 'completed'"
        )
        column = "placed_at"
    if since:
        query.add(f"AND {column} >= %s", since)
    if customers_sql is not None:  # only the ledger of the customers being evaluated
        query.add(f"AND customer_id IN ({customers_sql[0]})", *customers_sql[1])
    query.add("GROUP BY customer_id")


def _case(query: SQL, pairs, default) -> None:
    """A CASE mapping; pairs are (test SQL with one %s, its value, the result)."""
    query.add("(CASE")
    for test, value, result in pairs:
        query.add(f"WHEN {test} THEN %s", value, result)
    query.add("ELSE %s END)", default)


def _build_decisions(
    settings: Settings, now: datetime, customer_ids=None, customers_sql=None
) -> None:
    """Fill the temporary table rank_decision with every customer whose state changes.

    The CASE expressions are `decide()` written in SQL, branch for branch.
    """
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS rank_eval")
        cursor.execute("DROP TABLE IF EXISTS rank_decision")

        # 1. Each customer's qualifying amount, target rank and the two levels.
        query = SQL().add(
            "CREATE TEMPORARY TABLE rank_eval AS SELECT c.id AS customer_id,"
            " c.rank_id AS old_rank_id, COALESCE(a.amount, 0) AS amount,"
            " c.rank_overridden AS overridden, c.rank_override_expires_at AS override_expires,"
            " c.rank_grace_until AS grace_until, "
        )
        reached = [
            ("COALESCE(a.amount, 0) >= CAST(%s AS NUMERIC)", threshold, pk)
            for pk, _level, threshold in reversed(settings.ladder)
        ]
        _case(query, reached, settings.default_rank_id)
        query.add(f"AS target_rank_id FROM {CUSTOMER} c LEFT JOIN (")
        _amounts(query, settings, now, customers_sql)
        query.add(") a ON a.customer_id = c.id WHERE c.archived_at IS NULL")
        query.add("AND c.anonymised_at IS NULL")
        if customer_ids is not None:
            query.add(f"AND c.id IN ({', '.join(['%s'] * len(customer_ids))})", *customer_ids)
        if customers_sql is not None:
            query.add(f"AND c.id IN ({customers_sql[0]})", *customers_sql[1])
        cursor.execute(query.sql, query.params)

        # 2. What the policy does, as in decide().
        levels = [("{} = %s", pk, level) for pk, level, _threshold in settings.ladder]
        query = SQL().add("CREATE TEMPORARY TABLE rank_decision AS SELECT * FROM (SELECT")
        query.add("e.customer_id, e.old_rank_id, e.amount, e.grace_until AS old_grace_until,")
        query.add("e.active, e.expired,")
        query.add(
            """CASE
                 WHEN e.active = 1 THEN e.old_rank_id
                 WHEN e.expired = 1 THEN e.target_rank_id
                 WHEN e.new_level IS NULL THEN e.old_rank_id
                 WHEN e.old_level IS NULL OR e.new_level > e.old_level THEN e.target_rank_id
                 WHEN e.new_level = e.old_level THEN e.old_rank_id
                 WHEN %s = 'never' THEN e.old_rank_id
                 WHEN %s = 'at_evaluation' THEN e.target_rank_id
                 WHEN e.grace_until IS NOT NULL AND e.grace_until <= %s THEN e.target_rank_id
                 ELSE e.old_rank_id
               END AS new_rank_id,""",
            settings.downgrade,
            settings.downgrade,
            now,
        )
        query.add(
            """CASE
                 WHEN e.active = 1 THEN e.grace_until
                 WHEN e.expired = 1 THEN NULL
                 WHEN e.new_level IS NULL THEN e.grace_until
                 WHEN e.old_level IS NULL OR e.new_level >= e.old_level THEN NULL
                 WHEN %s <> 'grace' THEN NULL
                 WHEN e.grace_until IS NULL THEN %s
                 WHEN e.grace_until <= %s THEN NULL
                 ELSE e.grace_until
               END AS new_grace_until,""",
            settings.downgrade,
            now + timedelta(days=settings.grace_days),
            now,
        )
        query.add(
            """CASE
                 WHEN e.active = 1 OR e.new_level IS NULL THEN NULL
                 WHEN e.expired = 1 THEN 'override_ended'
                 WHEN e.old_level IS NULL OR e.new_level > e.old_level THEN 'qualification'
                 WHEN e.new_level = e.old_level OR %s = 'never' THEN NULL
                 WHEN %s = 'at_evaluation' THEN 'downgrade'
                 WHEN e.grace_until IS NOT NULL AND e.grace_until <= %s THEN 'grace_ended'
                 ELSE NULL
               END AS reason""",
            settings.downgrade,
            settings.downgrade,
            now,
        )
        query.add("FROM (SELECT r.*,")
        query.add(
            "CASE WHEN r.overridden = %s AND (r.override_expires IS NULL"
            " OR r.override_expires > %s) THEN 1 ELSE 0 END AS active,",
            True,
            now,
        )
        query.add(
            "CASE WHEN r.overridden = %s AND r.override_expires <= %s THEN 1 ELSE 0 END"
            " AS expired,",
            True,
            now,
        )
        _case(query, [(t.format("r.old_rank_id"), pk, lv) for t, pk, lv in levels], None)
        query.add("AS old_level,")
        _case(query, [(t.format("r.target_rank_id"), pk, lv) for t, pk, lv in levels], None)
        query.add("AS new_level FROM rank_eval r) e) d")
        query.add(
            "WHERE new_rank_id IS DISTINCT FROM old_rank_id"
            " OR new_grace_until IS DISTINCT FROM old_grace_until OR expired = 1"
        )
        cursor.execute(query.sql, query.params)


def drop_temporary_tables() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS rank_decision")
        cursor.execute("DROP TABLE IF EXISTS rank_eval")


COUNTS_SQL = """
    SELECT COUNT(*),
      SUM(CASE WHEN reason = 'qualification' THEN 1 ELSE 0 END),
      SUM(CASE WHEN reason IN ('downgrade', 'grace_ended') THEN 1 ELSE 0 END),
      SUM(CASE WHEN new_grace_until IS NOT NULL AND old_grace_until IS NULL THEN 1 ELSE 0 END),
      SUM(CASE WHEN expired = 1 THEN 1 ELSE 0 END)
    FROM rank_decision
"""


def decision_counts(cursor) -> dict:
    """What the decisions in rank_decision add up to (changed, upgraded, downgraded, …)."""
    cursor.execute(COUNTS_SQL)
    changed, up, down, grace, ended = (value or 0 for value in cursor.fetchone())
    return {
        "changed": changed,
        "upgraded": up,
        "downgraded": down,
        "grace_started": grace,
        "overrides_ended": ended,
    }


def apply_all(
    settings: Settings, *, now: datetime, actor=None, customer_ids=None, customers_sql=None
) -> dict:
    """Evaluate customers set-based and write the outcome: history rows, then one UPDATE.

    All live customers, or those of `customer_ids`, or those a query returns (`customers_sql`:
    (sql, params) selecting one column of ids — an import's touched customers, say).
    Call inside a transaction (`ranks.services.recalculate_all` does, with the lock).
    """
    if not settings.ladder:  # no ranks defined: nothing to assign
        return dict.fromkeys(
            ("changed", "upgraded", "downgraded", "grace_started", "overrides_ended"), 0
        )
    _build_decisions(settings, now, customer_ids, customers_sql)
    with connection.cursor() as cursor:
        counts = decision_counts(cursor)
        query = SQL().add(
            f"""INSERT INTO {CHANGE} (customer_id, from_rank_id, to_rank_id, from_name, to_name,
                    reason, note, qualifying_amount, actor_id, created_at)
                SELECT d.customer_id, d.old_rank_id, d.new_rank_id, COALESCE(fr.name, ''),
                       COALESCE(tr.name, ''), d.reason, '', d.amount, %s, %s
                FROM rank_decision d
                LEFT JOIN {RANK} fr ON fr.id = d.old_rank_id
                LEFT JOIN {RANK} tr ON tr.id = d.new_rank_id
                WHERE d.new_rank_id IS DISTINCT FROM d.old_rank_id""",  # noqa: S608
            actor.pk if actor else None,
            now,
        )
        cursor.execute(query.sql, query.params)
        query = SQL().add(
            f"""UPDATE {CUSTOMER} SET rank_id = d.new_rank_id,
                    rank_grace_until = d.new_grace_until,
                    rank_overridden = CASE WHEN d.expired = 1 THEN %s
                                           ELSE {CUSTOMER}.rank_overridden END,
                    rank_override_expires_at = CASE WHEN d.expired = 1 THEN NULL
                                           ELSE {CUSTOMER}.rank_override_expires_at END,
                    updated_at = %s
                FROM rank_decision d WHERE {CUSTOMER}.id = d.customer_id""",  # noqa: S608
            False,
            now,
        )
        cursor.execute(query.sql, query.params)
    drop_temporary_tables()
    return counts


def simulate(settings: Settings, *, now: datetime) -> list[tuple[int | None, int | None, int]]:
    """(from rank, to rank, customers) for everyone whose rank the settings would change now;
    nothing is written. The temporary table stays for the caller to read the members from."""
    _build_decisions(settings, now)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT old_rank_id, new_rank_id, COUNT(*) FROM rank_decision"
            " WHERE new_rank_id IS DISTINCT FROM old_rank_id GROUP BY old_rank_id, new_rank_id"
        )
        return cursor.fetchall()
