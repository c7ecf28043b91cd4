"""The Audiences section of the benchmark, each figure beside its peer of the same run:

- each list case's filter counted as an audience (`audience=<id>`) against the list's own capped
  count of that filter (the audience criterion should add nothing);
- a snapshot of about 100,000 members; that static audience's metrics, and why-in/out on a
  dynamic audience of the same size;
- the static audience opened in the list (page 1 and a deep page) against the unfiltered list.

The audiences are committed (the list's count runs on a side connection, which must see them)
and deleted at the end.
"""

import time

from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audiences import selectors, services
from audiences.models import Audience, AudienceMember
from bench.cases import list_cases
from bench.run import _bench_user, _time_requests, explain_customer_queries, summarise
from console.tables import DEFAULT_ORDERING
from core.pagination import cursor_at
from customers.models import Customer
from customers.selectors import capped_count, customers_matching

TARGET_MEMBERS = 100_000
# Page parameters are not part of a filter.
NOT_A_FILTER = ("after", "before", "sort", "page")


def _timed(function, repeat: int) -> tuple[list[float], object]:
    samples, value = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        value = function()
        samples.append(time.perf_counter() - started)
    return samples, value


def _explain(query_string: str) -> dict:
    """EXPLAIN ANALYZE of the capped count, as the list runs it."""
    with CaptureQueriesContext(connection) as captured:
        capped_count(customers_matching(query_string), settings.LIST_COUNT_CAP)
    return explain_customer_queries(captured.captured_queries)


def _joined_since_for(members: int) -> str:
    """The join day from which about `members` live customers joined (newest first)."""
    row = (
        Customer.objects.live()
        .order_by("-joined_at")
        .values_list("joined_at", flat=True)[members - 1 : members]
        .first()
    )
    return row.date().isoformat()


def measure_audiences(size: int, repeat: int = 15, log=print) -> list[dict]:
    rows = []
    made: list[Audience] = []
    cap = settings.LIST_COUNT_CAP
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:  # the last run's deleted members, as autovacuum would
            cursor.execute(f"VACUUM ANALYZE {AudienceMember._meta.db_table}")
    try:
        for case in list_cases(size):
            rule = "&".join(
                part
                for part in case.ours.split("&")
                if part and part.split("=")[0] not in NOT_A_FILTER
            )
            if not rule:
                continue
            audience = Audience.objects.create(
                name=f"Bench {case.key}", name_key=f"bench {case.key}", rule=rule
            )
            made.append(audience)
            list_samples, audience_samples = [], []
            for _ in range(repeat):  # in turn, so the machine's swings fall on both alike
                timed, (listed, _more) = _timed(
                    lambda rule=rule: capped_count(customers_matching(rule), cap), 1
                )
                list_samples += timed
                timed, (counted, _more) = _timed(
                    lambda a=audience: capped_count(customers_matching(a.list_query), cap), 1
                )
                audience_samples += timed
            ours, peer = summarise(audience_samples), summarise(list_samples)
            rows.append(
                {
                    "key": f"count_{case.key}",
                    "title": f"Count as an audience: {case.title}",
                    "ours": ours,
                    "peer": peer,
                    "peer_title": "the list's capped count",
                    "found": f"{counted:,}" + ("+" if _more else ""),
                    "same": counted == listed,
                    "ratio": round(ours["p50_ms"] / max(peer["p50_ms"], 0.01), 2),
                    "target": 1.25,
                    "explain": _explain(audience.list_query),
                }
            )
            log(f"  {rows[-1]['title']:<64} {ours['p50_ms']:>8.1f} ms vs {peer['p50_ms']:>8.1f} ms")

        since = _joined_since_for(min(TARGET_MEMBERS, max(size // 10, 1)))
        rule = f"joined_after={since}"
        dynamic = Audience.objects.create(name="Bench 100k", name_key="bench 100k", rule=rule)
        static = Audience.objects.create(
            name="Bench 100k static", name_key="bench 100k static", kind="static", rule=rule
        )
        made += [dynamic, static]
        started = time.perf_counter()
        job = services.start_snapshot(audience=static, kind="snapshot", actor=None, via="command")
        snapshot_seconds = time.perf_counter() - started
        if job.status != "done":
            raise RuntimeError(f"the snapshot failed: {job.error}")
        members = static.members.count()
        rows.append(
            {
                "key": "snapshot",
                "title": f"Snapshot into a static audience ({members:,} members)",
                "ours": summarise([snapshot_seconds]),
                "peer": None,
                "found": f"{members:,}",
            }
        )
        log(f"  {rows[-1]['title']:<64} {snapshot_seconds * 1000:>8.1f} ms")
        metric_samples, figures = _timed(lambda: selectors.metrics(static), repeat)
        rows.append(
            {
                "key": "metrics",
                "title": f"Metrics of the static audience ({figures['size']:,})",
                "ours": summarise(metric_samples),
                "peer": None,
                "found": f"{figures['size']:,}",
            }
        )
        log(f"  {rows[-1]['title']:<64} {rows[-1]['ours']['p50_ms']:>8.1f} ms")
        inside = Customer.objects.live().filter(joined_at__date__gte=since).first()
        outside = Customer.objects.live().filter(joined_at__date__lt=since).first()
        for label, customer in (("member", inside), ("non-member", outside)):
            samples, why = _timed(lambda c=customer: selectors.explain(dynamic, c), repeat)
            rows.append(
                {
                    "key": f"why_{label}",
                    "title": f"Why in / out of the dynamic audience, a {label}",
                    "ours": summarise(samples),
                    "peer": None,
                    "found": "in" if why["inside"] else "out",
                }
            )
            log(f"  {rows[-1]['title']:<64} {rows[-1]['ours']['p50_ms']:>8.1f} ms")
        rows += _open_in_list(static, repeat, log)
    finally:
        Audience.objects.filter(pk__in=[a.pk for a in made]).delete()
    return rows


def _open_in_list(static: Audience, repeat: int, log) -> list[dict]:
    """The static audience in the customer list, page 1 and a deep page (by cursor), against
    the unfiltered list's first page. The three are timed in turn, round after round, so that
    the machine's swings fall on all three alike."""
    rows = []
    with override_settings(ROOT_URLCONF="bench.urls"):
        client = Client()
        client.force_login(_bench_user())
        url = reverse("customers:list")
        members = customers_matching(static.list_query)
        deep = max(1, min(1000, static.members.count() // 50 // 2))
        cursor = cursor_at(members, DEFAULT_ORDERING, (deep - 1) * 50)
        pages = {
            "unfiltered": url,
            "open_first": f"{url}?{static.list_query}",
            "open_deep": f"{url}?{static.list_query}&after={cursor}",
        }
        samples = {key: [] for key in pages}
        for address in pages.values():
            client.get(address)  # warm
        for _ in range(repeat * 2):
            for key, address in pages.items():
                timed, _body, status = _time_requests(client, address, 1)
                if status != 200:
                    raise RuntimeError(f"{key}: the list answered {status}")
                samples[key] += timed
        peer = summarise(samples["unfiltered"])
        for key, title in (
            ("open_first", "Static audience in the list, page 1"),
            ("open_deep", f"Static audience in the list, page {deep:,} (cursor)"),
        ):
            ours = summarise(samples[key])
            rows.append(
                {
                    "key": key,
                    "title": title,
                    "ours": ours,
                    "peer": peer,
                    "peer_title": "the unfiltered list, page 1",
                    "ratio": round(ours["p50_ms"] / max(peer["p50_ms"], 0.01), 2),
                    "target": 1.5,
                    "found": "",
                }
            )
            log(f"  {title:<64} {ours['p50_ms']:>8.1f} ms vs {peer['p50_ms']:>8.1f} ms")
    if connection.vendor == "postgresql":
        rows[-1]["explain"] = _explain(f"{static.list_query}")
    return rows
