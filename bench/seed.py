"""The benchmark's data set: N customers with history, loaded with COPY in minutes.

PostgreSQL only. Deterministic for a given size and seed. The secondary indexes of the big
tables are dropped during the load and rebuilt afterwards (what any bulk load does); the
indexes that back constraints stay. A marker table records what was seeded, so a second run
with the same size reuses the data instead of loading it again.
"""

import io
import json
import random
import time
from bisect import bisect
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate

from django.db import connection, transaction

from console.demo_data import (
    CITIES,
    EN_FIRST,
    EN_LAST,
    RANKS,
    REWARDS,
    TAGS,
    VI_FIRST,
    VI_LAST,
    VI_MIDDLE,
    custom_field_definitions,
)
from customers.models import Customer, CustomFieldDefinition, Reward, Store
from customers.search_text import build_search_text, fold
from ranks.models import Rank
from tags.models import CustomerTag, Tag

SEED_VERSION = "4"
# Fixed "now" so the same size always gives the same rows (and the same benchmark queries).
NOW = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
BATCH = 25_000
STORE_COUNT = 200
TAG_COUNT = 100

MORE_CITIES = [
    ("Biên Hòa", 2), ("Buôn Ma Thuột", 1), ("Quy Nhơn", 1), ("Thủ Dầu Một", 2),
    ("Long Xuyên", 1), ("Hạ Long", 1), ("Vinh", 1), ("Đà Lạt", 1), ("Phan Thiết", 1),
    ("Rạch Giá", 1), ("Mỹ Tho", 1), ("Thái Nguyên", 1), ("Nam Định", 1), ("Bắc Ninh", 1),
    ("Pleiku", 1), ("Cà Mau", 1), ("Quảng Ngãi", 1), ("Singapore", 1), ("Sydney", 1),
    ("London", 1),
]  # fmt: skip
ALL_CITIES = CITIES + MORE_CITIES
EMAIL_DOMAINS = ["gmail.com", "yahoo.com", "outlook.com", "example.vn", "icloud.com"]
PHONE_PREFIXES = ["3", "5", "7", "8", "9"]
REFERRALS = [choice for choice, _ in Customer.ReferralSource.choices if choice != "import"]
ORDER_COUNTS = [1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 6, 8, 11, 15, 24]
TAGS_PER_CUSTOMER = [1, 1, 1, 1, 2, 2, 3, 4, 6]

SECONDARY_INDEX_TABLES = [Customer._meta.db_table, CustomerTag._meta.db_table]


def _cumulative(pairs):
    values, weights = zip(*pairs, strict=True)
    return list(values), list(accumulate(weights))


def _pick(rng, values, cumulative):
    return values[bisect(cumulative, rng.random() * cumulative[-1])]


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        value = json.dumps(value, ensure_ascii=False)
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _copy(cursor, table: str, columns: list[str], rows) -> int:
    """COPY rows (an iterable of tuples) into table in batches; returns the row count."""
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    buffer, count = [], 0
    for row in rows:
        buffer.append("\t".join(_copy_value(value) for value in row))
        count += 1
        if len(buffer) >= BATCH:
            cursor.copy_expert(statement, io.StringIO("\n".join(buffer) + "\n"))
            buffer = []
    if buffer:
        cursor.copy_expert(statement, io.StringIO("\n".join(buffer) + "\n"))
    return count


def is_bench_database() -> bool:
    """Whether this database was loaded by the benchmark (it then may be reloaded)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('bench_meta') IS NOT NULL")
        return cursor.fetchone()[0]


def seeded_size() -> int | None:
    """The size of the current data set, or None when there is none (or an older version)."""
    if not is_bench_database():
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'size'")
        size = cursor.fetchone()
        cursor.execute("SELECT value FROM bench_meta WHERE key = 'version'")
        version = cursor.fetchone()
    if not size or not version or version[0] != SEED_VERSION:
        return None
    return int(size[0])


def _reference_data(rng):
    cities, cumulative = _cumulative(ALL_CITIES)
    stores = Store.objects.bulk_create(
        Store(
            code=f"store-{index:03d}",
            name=f"{city} #{index:03d}",
            city=city,
        )
        for index, city in (
            (index, _pick(rng, cities, cumulative)) for index in range(1, STORE_COUNT + 1)
        )
    )
    ranks = [
        Rank.objects.create(
            name=name, code=code, level=level, threshold=threshold, colour=colour,
            benefits=benefits, is_default=level == 1,
        )
        for level, (name, code, threshold, colour, benefits) in enumerate(RANKS, start=1)
    ]  # fmt: skip
    names = [name for name, _ in TAGS] + [
        f"Segment {index:03d}" for index in range(len(TAGS) + 1, TAG_COUNT + 1)
    ]
    colours = [colour for _, colour in TAGS]
    tags = Tag.objects.bulk_create(
        Tag(name=name, slug=f"bench-{index}", colour=colours[index % len(colours)])
        for index, name in enumerate(names)
    )
    rewards = [Reward.objects.create(code=c, name=n, points_cost=p) for c, n, p in REWARDS]
    CustomFieldDefinition.objects.bulk_create(custom_field_definitions())
    return stores, ranks, tags, rewards


def _customers(rng, size, stores, ranks, tags, rewards, tag_rows, redemption_rows):
    """Yield customer rows in Customer column order; collect tag and redemption rows."""
    fields = Customer._meta.concrete_fields
    cities, city_weights = _cumulative(ALL_CITIES)
    statuses, status_weights = _cumulative([("active", 90), ("inactive", 8), ("blocked", 2)])
    # Zipf-like tag use: the first tags are on many customers, the last on a few.
    tag_weights = list(accumulate(1 / (rank + 1) ** 1.1 for rank in range(len(tags))))
    thresholds = [(Decimal(rank.threshold), rank.pk) for rank in ranks]
    cheap_rewards = sorted(rewards, key=lambda reward: reward.points_cost)
    five_years = 5 * 365 * 24 * 3600
    for pk in range(1, size + 1):
        vietnamese = rng.random() < 0.75
        if vietnamese:
            last = rng.choice(VI_LAST)
            first = f"{rng.choice(VI_MIDDLE)} {rng.choice(VI_FIRST)}".strip()
        else:
            last, first = rng.choice(EN_LAST), rng.choice(EN_FIRST)
        member_number = f"M{pk:010d}"
        old_id = f"OLD-{rng.randrange(100000, 999999)}-{pk}" if rng.random() < 0.5 else None
        email = None
        if rng.random() < 0.8:
            local = fold(f"{first.split()[-1]}.{last}").replace(" ", "")
            email = f"{local}{pk}@{rng.choice(EMAIL_DOMAINS)}"
        phone = phone_forms = None
        if rng.random() < 0.85:
            # Multiplying by a number coprime to 10^8 is a bijection: every phone is unique.
            national = f"{rng.choice(PHONE_PREFIXES)}{(pk * 7919) % 100_000_000:08d}"
            phone, phone_forms = f"+84{national}", [f"84{national}", f"0{national}"]
        # Members are inserted as they join, so the join date follows the primary key (with a
        # few days of jitter, as branches sync late); more joined recently than long ago.
        age = (1 - pk / size) ** 1.5 * five_years + rng.uniform(0, 3 * 86400)
        joined = NOW - timedelta(seconds=int(age))
        order_count, spent, last_order = 0, Decimal(0), None
        if rng.random() < 0.35:
            order_count = rng.choice(ORDER_COUNTS)
            spent = sum(
                Decimal(round(rng.lognormvariate(12.7, 0.8), -3)) for _ in range(order_count)
            )
            last_order = joined + (NOW - joined) * rng.random()
        lifetime = int(spent / 10_000)
        balance = lifetime
        if lifetime >= cheap_rewards[0].points_cost and rng.random() < 0.3:
            reward = rng.choice([r for r in cheap_rewards if r.points_cost <= lifetime])
            balance -= reward.points_cost
            redemption_rows.append(
                (pk, reward.pk, rng.choice(stores).pk,
                 joined + (NOW - joined) * rng.random(), reward.points_cost)
            )  # fmt: skip
        rank_id = [rank_pk for threshold, rank_pk in thresholds if spent >= threshold][-1]
        if rng.random() < 0.55:
            chosen = {
                bisect(tag_weights, rng.random() * tag_weights[-1])
                for _ in range(rng.choice(TAGS_PER_CUSTOMER))
            }
            tag_rows.extend((pk, tags[index].pk, "manual", joined) for index in sorted(chosen))
        custom = {}
        if rng.random() < 0.6:
            custom["favourite_category"] = rng.choice(
                ["Fashion", "Beauty", "Home", "Food", "Electronics"]
            )
        if rng.random() < 0.3:
            custom["shoe_size"] = rng.randrange(35, 46)
        if rng.random() < 0.4:
            custom["newsletter"] = rng.random() < 0.7
        values = {
            "id": pk,
            "member_number": member_number,
            "old_member_id": old_id,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "date_of_birth": (NOW - timedelta(days=rng.randrange(6570, 25550))).date()
            if rng.random() < 0.7
            else None,
            "gender": rng.choice(["female", "male", "female", "male", "undisclosed"]),
            "address": "",
            "city": _pick(rng, cities, city_weights),
            "country": "VN",
            "customer_type": "wholesale" if rng.random() < 0.03 else "retail",
            "status": _pick(rng, statuses, status_weights),
            "rank_id": rank_id,
            "rank_overridden": False,
            "rank_override_expires_at": None,
            "rank_grace_until": None,
            "points_balance": balance,
            "lifetime_points": lifetime,
            "total_spent": spent,
            "order_count": order_count,
            "last_order_at": last_order,
            "preferred_store_id": rng.choice(stores).pk if rng.random() < 0.7 else None,
            "referral_source": rng.choice(REFERRALS),
            "referred_by_id": None,
            "joined_at": joined,
            "created_at": joined,
            "updated_at": joined,
            "last_access_at": joined + (NOW - joined) * rng.random()
            if rng.random() < 0.75
            else None,
            "followed_oa_at": joined + timedelta(days=rng.randrange(0, 60))
            if rng.random() < 0.3
            else None,
            "app_last_seen_at": NOW - timedelta(days=rng.randrange(0, 365))
            if rng.random() < 0.45
            else None,
            "password": "",
            "custom_fields": custom,
            "search_text": build_search_text(
                email=email,
                phone=phone,
                member_number=member_number,
                old_member_id=old_id,
                first_name=first,
                last_name=last,
                phone_forms=phone_forms or [],
            ),
            "archived_at": None,
            "import_job_id": None,
            "anonymised_at": None,
        }
        yield tuple(values[field.attname] for field in fields)


def _drop_secondary_indexes(cursor) -> list[str]:
    """Drop the indexes that back no constraint; return their definitions to rebuild."""
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [SECONDARY_INDEX_TABLES],
    )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in found]


def _truncate(cursor):
    tables = [
        "customers_customer",
        "customers_store",
        "customers_reward",
        "customers_customfielddefinition",
        "ranks_rank",
        "tags_tag",
    ]
    cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def seed(size: int, *, seed_value: int = 20261122, log=print) -> dict:
    """Load `size` customers and their history; returns row counts and timings."""
    if connection.vendor != "postgresql":
        raise RuntimeError("The benchmark data set is loaded with COPY: PostgreSQL only.")
    rng = random.Random(seed_value)
    started = time.perf_counter()
    counts = {}
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        _truncate(cursor)
        stores, ranks, tags, rewards = _reference_data(rng)
        definitions = _drop_secondary_indexes(cursor)
        tag_rows, redemption_rows = [], []
        columns = [field.column for field in Customer._meta.concrete_fields]
        counts["customers"] = _copy(
            raw,
            Customer._meta.db_table,
            columns,
            _customers(rng, size, stores, ranks, tags, rewards, tag_rows, redemption_rows),
        )
        log(f"  customers: {counts['customers']:,} in {time.perf_counter() - started:.0f} s")
        counts["customer tags"] = _copy(
            raw, CustomerTag._meta.db_table, ["customer_id", "tag_id", "source", "assigned_at"],
            tag_rows,
        )  # fmt: skip
        counts["redemptions"] = _copy(
            raw, "customers_rewardredemption",
            ["customer_id", "reward_id", "store_id", "redeemed_at", "points_spent"],
            redemption_rows,
        )  # fmt: skip
        del tag_rows, redemption_rows
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('customers_customer', 'id'), %s)", [size]
        )
        # Orders and the points ledger are derived in SQL from each customer's totals.
        cursor.execute(
            """
            INSERT INTO customers_order (number, customer_id, store_id, placed_at, total, status)
            SELECT 'B' || c.id || '-' || g, c.id, c.preferred_store_id,
                   c.joined_at + (c.last_order_at - c.joined_at) * g / c.order_count,
                   round(c.total_spent / c.order_count, 2), 'completed'
            FROM customers_customer c CROSS JOIN LATERAL generate_series(1, c.order_count) g
            WHERE c.order_count > 0
            """
        )
        counts["orders"] = cursor.rowcount
        cursor.execute(
            """
            INSERT INTO customers_pointstransaction
                (customer_id, delta, reason, balance_after, reference, created_at)
            SELECT o.customer_id, floor(o.total / 10000)::int, 'purchase',
                   sum(floor(o.total / 10000)::int) OVER (
                       PARTITION BY o.customer_id ORDER BY o.placed_at, o.id),
                   o.number, o.placed_at
            FROM customers_order o
            UNION ALL
            SELECT r.customer_id, -r.points_spent, 'redemption',
                   c.points_balance, 'reward ' || r.reward_id, r.redeemed_at
            FROM customers_rewardredemption r JOIN customers_customer c ON c.id = r.customer_id
            """
        )
        counts["points transactions"] = cursor.rowcount
        log(f"  history loaded in {time.perf_counter() - started:.0f} s; rebuilding indexes")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred FK checks now
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for definition in definitions:
            cursor.execute(definition)
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text)")
        cursor.execute("DELETE FROM bench_meta")
        cursor.execute(
            "INSERT INTO bench_meta VALUES ('size', %s), ('version', %s), ('seeded_at', %s)",
            [str(size), SEED_VERSION, datetime.now(UTC).isoformat()],
        )
    with connection.cursor() as cursor:
        # VACUUM sets the visibility map (index-only scans); it cannot run in a transaction,
        # which is where the test suite calls this.
        cursor.execute("ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE")
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts
