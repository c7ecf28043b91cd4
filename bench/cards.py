"""The Tourist cards section of the benchmark, each figure beside its peer of the same run:

- generating a batch of 100,000 cards (rolled back), against the same cards saved one by one
  (a sample timed and scaled to the batch): generation must be set-based;
- the cards list and its lookups by number and passport, against the customer list's first
  page and its name search;
- the nationality and has-a-card criteria in the customer list, against the unfiltered list;
- activating one card at the counter: its queries and time (rolled back).

Card stock is loaded set-based (one INSERT … SELECT over generate_series) at a tenth of the
customers, 100,000 at 1,000,000, three in ten of them activated for a customer, and kept
between runs like the customers.
"""

import time
from datetime import timedelta

from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.run import _bench_user, summarise
from bench.wholesale import NAME_SEARCH, _pages_in_turn, _ratio_row
from cards import services
from cards.luhn import check_digit
from cards.models import CardBatch, CardStatus, TouristCard

BATCH_PREFIX = "BENCH"
MAX_GENERATED = 100_000
PER_ROW_SAMPLE = 1_000
NATIONALITIES = ["KR", "CN", "JP", "US", "TW", "AU", "TH", "FR", "DE", "GB"]
PAGE_TARGET = 1.25
FILTER_TARGET = 1.5
GENERATE_TARGET = 0.25  # at most a quarter of the per-card saves' time
ACTIVATE_QUERY_LIMIT = 24  # the unit test's 22, and the starting rank's existence check


def card_count(size: int) -> int:
    return min(100_000, max(size // 10, 200))


def seed_stock(count: int, log=print) -> int:
    """Load `count` cards unless they are there: seven in ten in stock, the rest activated
    over the last 60 days for customers spread over the table (a prime stride), most still
    active, some expired; nationalities skewed as a Vietnamese airport desk's."""
    batch = CardBatch.objects.filter(name=f"{BATCH_PREFIX} stock").first()
    if batch is not None and batch.size == count:
        return 0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if batch is not None:
            cursor.execute(
                "DELETE FROM cards_cardevent WHERE card_id IN "
                "(SELECT id FROM cards_touristcard WHERE batch_id = %s)",
                [batch.pk],
            )
            cursor.execute("DELETE FROM cards_touristcard WHERE batch_id = %s", [batch.pk])
            batch.delete()
        batch = CardBatch.objects.create(
            name=f"{BATCH_PREFIX} stock", prefix="99", size=count, validity_days=30
        )
        cursor.execute(
            """
            INSERT INTO cards_touristcard (
                number, batch_id, status, customer_id, passport_number, nationality, full_name,
                arrival, departure, valid_until, store_id, activated_at, activated_by_id,
                replaced_by_id, updated_at)
            SELECT '99' || lpad(g::text, 14, '0'), %(batch)s,
                   CASE WHEN used THEN CASE WHEN g %% 10 = 0 THEN 'expired' ELSE 'active' END
                        ELSE 'in_stock' END,
                   CASE WHEN used THEN first_customer + (g * 7919) %% customers END,
                   CASE WHEN used THEN 'BP' || lpad(g::text, 8, '0') ELSE '' END,
                   CASE WHEN used THEN nat[1 + skew * skew / 1000] ELSE '' END,
                   CASE WHEN used THEN 'TRAVELLER ' || g ELSE '' END,
                   CASE WHEN used THEN day - 2 END, CASE WHEN used THEN day + 7 END,
                   CASE WHEN used THEN day + 37 END, NULL,
                   CASE WHEN used THEN day::timestamptz + interval '10 hours' END, NULL, NULL,
                   now()
            FROM (
                SELECT g, g %% 10 < 3 AS used, g * 37 %% 100 AS skew,
                       current_date - (g %% 60) AS day
                FROM generate_series(1, %(count)s) g
            ) s,
            (SELECT min(id) AS first_customer, count(*) AS customers
             FROM customers_customer) c,
            (SELECT %(nat)s::text[] AS nat) lists
            """,
            {"batch": batch.pk, "count": count, "nat": NATIONALITIES},
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE cards_touristcard")
    log(f"  {count:,} cards loaded in {time.perf_counter() - started:.0f} s")
    return count


def generated_count(size: int) -> int:
    return min(MAX_GENERATED, max(size * 5, 1_000))


def _generation(generated: int) -> dict:
    """A batch of `generated` cards made by the service, and PER_ROW_SAMPLE cards saved one by
    one (the way a loop over a form would), both rolled back."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            services.generate_batch(
                name=f"{BATCH_PREFIX} generated",
                prefix="98",
                size=generated,
                validity_days=30,
                store=None,
                actor=None,
            )
            ours = time.perf_counter() - started
        transaction.set_rollback(True)
    with transaction.atomic():
        batch = CardBatch.objects.create(name=f"{BATCH_PREFIX} one by one", size=PER_ROW_SAMPLE)
        started = time.perf_counter()
        for sequence in range(PER_ROW_SAMPLE):
            payload = f"97{sequence:013d}"
            TouristCard.objects.create(number=payload + check_digit(payload), batch=batch)
        per_row = (time.perf_counter() - started) * generated / PER_ROW_SAMPLE
        transaction.set_rollback(True)
    return {"ours": ours, "per_row": per_row, "queries": len(captured.captured_queries)}


def _activation_cost() -> dict:
    """Activate one fresh card for a new traveller, rolled back: queries and time."""
    today = timezone.localdate()
    with transaction.atomic():
        batch = services.generate_batch(
            name=f"{BATCH_PREFIX} desk",
            prefix="96",
            size=1,
            validity_days=30,
            store=None,
            actor=None,
        )
        number = batch.cards.get().number
        traveller = {
            "passport_number": "BENCH0001",
            "nationality": "KR",
            "full_name": "BENCH Traveller",
            "date_of_birth": None,
            "arrival": today - timedelta(days=1),
            "departure": today + timedelta(days=5),
            "phone": "",
            "email": "",
        }
        clerk = _bench_user()
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            services.activate(number=number, traveller=traveller, store=None, actor=clerk)
            seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"queries": len(captured.captured_queries), "seconds": seconds}


def measure_cards(size: int, repeat: int = 15, log=print) -> list[dict]:
    count = card_count(size)
    seed_stock(count, log=log)
    sample = (
        TouristCard.objects.filter(batch__name=f"{BATCH_PREFIX} stock", status=CardStatus.ACTIVE)
        .order_by("id")
        .values("number", "passport_number")[count // 20]
    )
    with override_settings(ROOT_URLCONF="bench.urls"):
        client = Client()
        client.force_login(_bench_user())
        cards, customers = reverse("cards:list"), reverse("customers:list")
        pages = {
            "list": customers,
            "list_search": f"{customers}?{NAME_SEARCH}",
            "cards": cards,
            "cards_active_jp": f"{cards}?status=active&nationality=JP",
            "cards_number": f"{cards}?q={sample['number']}",
            "cards_passport": f"{cards}?q={sample['passport_number'].lower()}",
            "filter_nationality": f"{customers}?nationality=JP",
            "filter_active": f"{customers}?tourist_card=active",
        }
        samples = _pages_in_turn(client, pages, repeat)
    list_title, search_title = "the customer list, page 1", "the customer list's name search"
    rows = []
    for key, title, peer in (
        ("cards", f"Cards list, page 1 ({count:,} cards)", "list"),
        ("cards_active_jp", "Cards list: active, one nationality", "list"),
        ("cards_number", "Cards lookup: a card number", "list_search"),
        ("cards_passport", "Cards lookup: a passport number", "list_search"),
        ("filter_nationality", "Customer list: nationality (tourist card)", "list"),
        ("filter_active", "Customer list: has an active tourist card", "list"),
    ):
        target = FILTER_TARGET if key.startswith("filter") else PAGE_TARGET
        peer_title = list_title if peer == "list" else search_title
        rows.append(_ratio_row(key, title, samples[key], samples[peer], peer_title, target, ""))
        log(
            f"  {title:<64} {rows[-1]['ours']['p50_ms']:>8.1f} ms vs "
            f"{rows[-1]['peer']['p50_ms']:>8.1f} ms"
        )
    generated = generated_count(size)
    made = _generation(generated)
    rows.append(
        _ratio_row(
            "generate",
            f"Generate a batch of {generated:,} cards (rolled back)",
            [made["ours"]],
            [made["per_row"]],
            f"the same cards saved one by one ({PER_ROW_SAMPLE:,} timed, scaled)",
            GENERATE_TARGET,
            f"{made['queries']} queries",
        )
    )
    rows[-1]["queries"] = made["queries"]
    log(
        f"  {rows[-1]['title']:<64} {made['ours'] * 1000:>8.1f} ms vs "
        f"{made['per_row'] * 1000:>8.1f} ms, {made['queries']} queries"
    )
    cost = _activation_cost()
    rows.append(
        {
            "key": "activate",
            "title": "Activate one card at the counter (rolled back)",
            "ours": summarise([cost["seconds"]]),
            "peer": None,
            "found": f"{cost['queries']} queries (limit {ACTIVATE_QUERY_LIMIT})",
            "queries": cost["queries"],
        }
    )
    log(f"  {rows[-1]['title']:<64} {cost['seconds'] * 1000:>8.1f} ms, {cost['queries']} queries")
    return rows
