"""The Wholesale section of the benchmark, each figure beside its peer of the same run:

- the review queue's tabs and its searches, against the customer list's first page and its
  name search (the queue must stay within the list's budget);
- the wholesale-status criterion in the customer list, against the unfiltered list;
- approving one application: its queries and time (rolled back).

Applications are loaded set-based (one INSERT … SELECT over generate_series) at a tenth of the
customers, 100,000 at 1,000,000, and kept between runs like the customers.
"""

import time

from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.run import _bench_user, _time_requests, summarise
from customers.search_text import fold
from tags import services as tag_services
from wholesale import services
from wholesale.models import Status, WholesaleApplication

CITIES = ["Hà Nội", "TP. Hồ Chí Minh", "Đà Nẵng", "Hải Phòng", "Cần Thơ", "Huế", "Nha Trang"]
WORDS = ["Tạp hoá", "Nhà hàng", "Đại lý", "Siêu thị mini", "Cà phê", "Văn phòng phẩm"]
REFERENCE_PREFIX = "WB"
# Queue and search pages cost no more than the customer list's matching page (1.25: noise).
QUEUE_TARGET = 1.25
FILTER_TARGET = 1.5
APPROVE_QUERY_LIMIT = 32
NAME_SEARCH = "q=Thảo"  # the list benchmark's name-fragment case


def application_count(size: int) -> int:
    return min(100_000, max(size // 10, 200))


def seed_applications(count: int, log=print) -> int:
    """Load `count` applications unless they are there: the newest 5 % open (most pending,
    some waiting for information), the rest decided, six in ten approved; each linked to a
    customer (a prime stride spreads them over the table)."""
    existing = WholesaleApplication.objects.filter(reference__startswith=REFERENCE_PREFIX).count()
    if existing == count:
        return 0
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM wholesale_applicationevent WHERE application_id IN "
            "(SELECT id FROM wholesale_wholesaleapplication WHERE reference LIKE %s)",
            [REFERENCE_PREFIX + "%"],
        )
        cursor.execute(
            "DELETE FROM wholesale_wholesaleapplication WHERE reference LIKE %s",
            [REFERENCE_PREFIX + "%"],
        )
        cursor.execute(
            """
            INSERT INTO wholesale_wholesaleapplication (
                reference, status, source, business_name, contact_name, phone, email, tax_id,
                address, city, business_type, expected_monthly_value, message, consent,
                search_text, customer_id, submitted_at, updated_at, decided_at, reason,
                info_needed, info_token_hash, email_failed, email_error)
            SELECT ref, status, 'public', words[1 + g %% 6] || ' ' || g, 'Nguyễn Văn ' || g,
                   '+8497' || digits, 'shop' || g || '@example.vn', tax, g || ' Lê Lợi',
                   cities[1 + g %% 7], 'shop', 10000000 + (g %% 50) * 1000000, '', true,
                   lower(ref) || ' ' || folded[1 + g %% 6] || ' ' || g || ' nguyen van ' || g
                       || ' shop' || g || '@example.vn ' || tax || ' 8497' || digits
                       || ' 097' || digits,
                   first_customer + (g * 9973) %% customers, at, at,
                   CASE WHEN status IN ('approved', 'rejected') THEN at END, '', '', '', '', ''
            FROM (
                SELECT g, %(prefix)s || lpad(g::text, 8, '0') AS ref,
                       lpad(g::text, 7, '0') AS digits,
                       (3100000000 + g)::text AS tax,
                       now() - (%(count)s - g) * interval '7 minutes' AS at,
                       CASE WHEN g > %(count)s * 0.95 THEN
                                CASE WHEN g %% 5 = 0 THEN 'needs_info' ELSE 'pending' END
                            WHEN g %% 10 < 6 THEN 'approved' ELSE 'rejected' END AS status
                FROM generate_series(1, %(count)s) g
            ) s,
            (SELECT min(id) AS first_customer, count(*) AS customers
             FROM customers_customer) c,
            (SELECT %(words)s::text[] AS words, %(folded)s::text[] AS folded,
                    %(cities)s::text[] AS cities) lists
            """,
            {
                "prefix": REFERENCE_PREFIX,
                "count": count,
                "words": WORDS,
                "folded": [fold(word) for word in WORDS],
                "cities": CITIES,
            },
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE wholesale_wholesaleapplication")
    log(f"  {count:,} applications loaded in {time.perf_counter() - started:.0f} s")
    return count


def _sample() -> WholesaleApplication:
    """An application in the middle of the table, to search for."""
    rows = WholesaleApplication.objects.filter(reference__startswith=REFERENCE_PREFIX)
    return rows.order_by("id")[rows.count() // 2]


def _ratio_row(key, title, ours_samples, peer_samples, peer_title, target, found) -> dict:
    ours, peer = summarise(ours_samples), summarise(peer_samples)
    return {
        "key": key,
        "title": title,
        "ours": ours,
        "peer": peer,
        "peer_title": peer_title,
        "ratio": round(ours["p50_ms"] / max(peer["p50_ms"], 0.01), 2),
        "target": target,
        "found": found,
    }


def _pages_in_turn(client, pages: dict[str, str], repeat: int) -> dict[str, list[float]]:
    """Time each page in turn, round after round, so the machine's swings fall on all alike."""
    samples = {key: [] for key in pages}
    for key, address in pages.items():
        response = client.get(address)  # warm
        if response.status_code != 200:
            raise RuntimeError(f"{key}: {address} answered {response.status_code}")
    for _ in range(repeat):
        for key, address in pages.items():
            timed, _body, _status = _time_requests(client, address, 1)
            samples[key] += timed
    return samples


def _approve_cost() -> dict:
    """Approve one pending application in a transaction that is rolled back: its queries and
    time (the emails go to a local outbox)."""
    application = (
        WholesaleApplication.objects.filter(
            reference__startswith=REFERENCE_PREFIX, status=Status.PENDING
        )
        .order_by("submitted_at")
        .first()
    )
    locmem = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    actor = _bench_user()
    with override_settings(MAILERS=locmem), transaction.atomic():
        # As after the first approval ever: the Wholesale tag exists.
        tag_services.ensure_tag(name=services.WHOLESALE_TAG, actor=actor)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            services.approve(application=application, actor=actor)
            seconds = time.perf_counter() - started
        transaction.set_rollback(True)
    return {"queries": len(captured.captured_queries), "seconds": seconds}


def measure_wholesale(size: int, repeat: int = 15, log=print) -> list[dict]:
    count = application_count(size)
    seed_applications(count, log=log)
    sample = _sample()
    rows = []
    with override_settings(ROOT_URLCONF="bench.urls"):
        client = Client()
        client.force_login(_bench_user())
        queue, customers = reverse("wholesale:list"), reverse("customers:list")
        name_word = sample.business_name.split()[-1]
        day = timezone.localdate(sample.submitted_at).isoformat()
        pages = {
            "list": customers,
            "list_search": f"{customers}?{NAME_SEARCH}",
            **{f"tab_{tab}": f"{queue}?tab={tab}" for tab in ("pending", "approved", "all")},
            "tab_day": f"{queue}?tab=all&submitted_from={day}&submitted_to={day}",
            "search_name": f"{queue}?tab=all&q={name_word}",
            "search_phone": f"{queue}?tab=all&q={sample.phone}",
            "search_tax": f"{queue}?tab=all&q={sample.tax_id}",
            "search_reference": f"{queue}?tab=all&q={sample.reference}",
            "filter_pending": f"{customers}?wholesale_status=pending",
            "filter_none": f"{customers}?wholesale_status=none",
        }
        samples = _pages_in_turn(client, pages, repeat)
    list_title, search_title = "the customer list, page 1", "the customer list's name search"
    for key, title, peer in (
        ("tab_pending", f"Queue, Pending tab ({count:,} applications)", "list"),
        ("tab_approved", "Queue, Approved tab", "list"),
        ("tab_all", "Queue, All tab", "list"),
        ("tab_day", "Queue, All tab, submitted on one day", "list"),
        ("search_name", "Queue search: a business name", "list_search"),
        ("search_phone", "Queue search: a phone number", "list_search"),
        ("search_tax", "Queue search: a tax ID", "list_search"),
        ("search_reference", "Queue search: a reference", "list_search"),
        ("filter_pending", "Customer list: wholesale status Pending", "list"),
        ("filter_none", "Customer list: never applied", "list"),
    ):
        target = FILTER_TARGET if key.startswith("filter") else QUEUE_TARGET
        rows.append(
            _ratio_row(
                key,
                title,
                samples[key],
                samples[peer],
                list_title if peer == "list" else search_title,
                target,
                "",
            )
        )
        log(
            f"  {title:<64} {rows[-1]['ours']['p50_ms']:>8.1f} ms vs "
            f"{rows[-1]['peer']['p50_ms']:>8.1f} ms"
        )
    cost = _approve_cost()
    rows.append(
        {
            "key": "approve",
            "title": "Approve one application (rolled back)",
            "ours": summarise([cost["seconds"]]),
            "peer": None,
            "found": f"{cost['queries']} queries (limit {APPROVE_QUERY_LIMIT})",
            "queries": cost["queries"],
        }
    )
    log(f"  {rows[-1]['title']:<64} {cost['seconds'] * 1000:>8.1f} ms, {cost['queries']} queries")
    return rows
