"""Measure our pages and exports side by side with the peers, in one process and one run."""

import io
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from bench.cases import ListCase, list_cases
from loyalty_admin.roles import ADMINISTRATOR, sync_roles

CUSTOMER_TABLE = "customers_customer"
PEER_URL = "/peer-admin/customers/customer/"
_OUR_COUNT = re.compile(r'data-testid="result-count"[^>]*>\s*([^<]+?)\s*<')
_PEER_COUNT = re.compile(r'<nav class="paginator".*?</ul>\s*(\d[\d,]*)\s+customers?', re.S)
_PEER_COUNT_SHORT = re.compile(r'<nav class="paginator".*?</h2>\s*(\d[\d,]*)\s+customers?', re.S)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return ordered[index]


def summarise(samples: list[float]) -> dict:
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 1),
        "p95_ms": round(percentile(samples, 0.95) * 1000, 1),
        "runs": len(samples),
    }


def _bench_user():
    """Who signs in for every measured page, ours and the stock admin's: an Administrator as
    `create_staff` makes one (staff, in the role's group), not a superuser — a superuser's
    permission checks skip the query every staff member's pages make."""
    if not Group.objects.filter(name=ADMINISTRATOR).exists():
        sync_roles()  # a flushed test database
    user, _ = get_user_model().objects.update_or_create(
        username="bench-admin", defaults={"is_staff": True, "is_superuser": False}
    )
    user.groups.set([Group.objects.get(name=ADMINISTRATOR)])
    return user


# A sequential scan of customers that stops (under a LIMIT) after reading at most this many
# rows is cheap and reported as such; one that reads more is a design fault.
BOUNDED_SCAN_ROWS = 10_000


def _seq_scans(plan: dict) -> list[int]:
    """Rows read by each sequential scan of customers in an EXPLAIN ANALYZE plan."""
    found = []
    if plan.get("Node Type") == "Seq Scan" and plan.get("Relation Name") == CUSTOMER_TABLE:
        loops = plan.get("Actual Loops", 1)
        found.append(
            int((plan.get("Actual Rows", 0) + plan.get("Rows Removed by Filter", 0)) * loops)
        )
    for child in plan.get("Plans", []):
        found.extend(_seq_scans(child))
    return found


def explain_customer_queries(captured) -> dict:
    """EXPLAIN ANALYZE every query of a request that reads the customer table.

    Reports sequential scans of customers that read more than BOUNDED_SCAN_ROWS rows (a
    design fault) apart from those a LIMIT stopped early (the planner's right choice when
    matches are dense, e.g. counting the first 1,001 of 120,000).
    """
    if connection.vendor != "postgresql":
        return {"checked": 0, "seq_scans": [], "bounded_scans": []}
    checked, full, bounded = 0, [], []
    # In one transaction that replays the page's SET LOCAL statements where they came, so each
    # query is explained under the settings it ran with (none outlives the transaction).
    with transaction.atomic(), connection.cursor() as cursor:
        for query in captured:
            sql = query["sql"]
            if sql.upper().startswith("SET LOCAL"):
                cursor.execute(sql)
                continue
            if f'"{CUSTOMER_TABLE}"' not in sql or not sql.lstrip().upper().startswith("SELECT"):
                continue
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0]
            plan = (plan if isinstance(plan, list) else json.loads(plan))[0]["Plan"]
            checked += 1
            for rows_read in _seq_scans(plan):
                (full if rows_read > BOUNDED_SCAN_ROWS else bounded).append(rows_read)
    return {"checked": checked, "seq_scans": full, "bounded_scans": bounded}


def _time_requests(client, url: str, repeat: int) -> tuple[list[float], str, int]:
    samples, body, status = [], "", 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        content = response.content  # render fully, as a browser would receive it
        samples.append(time.perf_counter() - started)
        status, body = response.status_code, content.decode()
    return samples, body, status


def measure_lists(size: int, repeat: int, peer_repeat: int, log=print) -> list[dict]:
    """Time each list case on our page and on the stock admin changelist."""
    results = []
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # As autovacuum would have: rolled-back runs (the rank and import benchmarks, of this
        # run or the last) leave dead rows that would slow both sides' counts and index-only
        # scans, and the statistics the planner reads must be the table's.
        with connection.cursor() as cursor:
            for table in ("customers_customer", "tags_customertag", "ranks_rankchange"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    with override_settings(ROOT_URLCONF="bench.urls"):
        client = Client()
        client.force_login(_bench_user())
        our_url = reverse("customers:list")
        for case in list_cases(size):
            results.append(_measure_case(client, our_url, case, repeat, peer_repeat))
            row = results[-1]
            peer = row["peer"]
            log(
                f"  {case.title:<48} ours {row['ours']['p50_ms']:>8.1f} ms"
                + (f"   peer {peer['p50_ms']:>8.1f} ms" if peer else "   peer n/a")
            )
    return results


def _measure_case(client, our_url: str, case: ListCase, repeat: int, peer_repeat: int) -> dict:
    url = f"{our_url}?{case.ours}" if case.ours else our_url
    # Warm-up, and the queries to EXPLAIN and count: all on this connection, where they can be
    # captured (the timed requests count beside the page on a side connection).
    with override_settings(SIDE_QUERY_THREADS=0), CaptureQueriesContext(connection) as captured:
        warm = client.get(url)
    if warm.status_code != 200:
        raise RuntimeError(f"{case.key}: our list answered {warm.status_code}")
    queries = len(captured.captured_queries)
    plan = explain_customer_queries(captured.captured_queries)
    samples, body, _ = _time_requests(client, url, repeat)
    match = _OUR_COUNT.search(body)
    row = {
        "key": case.key,
        "title": case.title,
        "search": case.search,
        "ours": {**summarise(samples), "queries": queries, "found": match and match.group(1)},
        "explain": plan,
        "peer": None,
    }
    if case.peer is not None:
        peer_url = f"{PEER_URL}?{case.peer}" if case.peer else PEER_URL
        with CaptureQueriesContext(connection) as captured:
            warm = client.get(peer_url)
        if warm.status_code != 200:
            raise RuntimeError(f"{case.key}: the peer answered {warm.status_code}")
        samples, body, _ = _time_requests(client, peer_url, peer_repeat)
        match = _PEER_COUNT.search(body) or _PEER_COUNT_SHORT.search(body)
        row["peer"] = {
            **summarise(samples),
            "queries": len(captured.captured_queries),
            "found": match and match.group(1),
        }
        row["ratio"] = round(row["peer"]["p50_ms"] / max(row["ours"]["p50_ms"], 0.1), 1)
    return row


def measure_export(writer: str, rows: int, output_dir: Path, in_process: bool = False) -> dict:
    """Run one export writer in a fresh process and read its rate and peak memory.

    `in_process` runs it here instead (the test suite, whose database a child process cannot
    see); its memory figure is then this process's, not the writer's.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    if in_process:
        out = io.StringIO()
        call_command(
            "bench_export", writer, str(rows), str(output_dir / f"{writer}-{rows}"), stdout=out
        )
        return json.loads(out.getvalue().strip().splitlines()[-1])
    command = [
        sys.executable,
        str(Path(settings.BASE_DIR) / "manage.py"),
        "bench_export",
        writer,
        str(rows),
        str(output_dir / f"{writer}-{rows}"),
    ]
    completed = subprocess.run(  # noqa: S603 - our own manage.py, fixed arguments
        command, capture_output=True, text=True, env=os.environ.copy(), check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"export {writer} failed: {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure_rank_work(repeat: int = 3) -> list[dict]:
    """Rank recalculation for every customer, and an impact simulation.

    Each run is rolled back, so the data set stays as seeded. Within a run the recalculation
    goes twice: the first places every member by the policy (the seeded ranks ignore its grace
    rules, so it moves most of them), the second is the nightly re-run, which finds little to do.
    """
    from django.db import transaction

    from ranks import services
    from ranks.models import Rank

    placement, nightly, simulation = [], [], []
    details = {}
    for _ in range(repeat):
        with transaction.atomic():
            started = time.perf_counter()
            details["placement"] = services.recalculate_all()
            placement.append(time.perf_counter() - started)
            started = time.perf_counter()
            details["nightly"] = services.recalculate_all()
            nightly.append(time.perf_counter() - started)
            transaction.set_rollback(True)
        with transaction.atomic():
            gold = Rank.objects.get(code="gold")
            started = time.perf_counter()
            outcome = services.simulate(
                proposal={"thresholds": {str(gold.pk): str(gold.threshold * 12 / 10)}}, actor=None
            )
            simulation.append(time.perf_counter() - started)
            details["simulate"] = {"up": outcome.counts["up"], "down": outcome.counts["down"]}
            transaction.set_rollback(True)
    tag_rule = []
    for _ in range(repeat):
        with transaction.atomic():
            from tags.models import Tag
            from tags.services import apply_rule

            tag = Tag.objects.create(
                name="Bench: bought in the last 90 days", slug="bench-rule", kind="automatic",
                rule="purchased_days=90",
            )  # fmt: skip
            started = time.perf_counter()
            added, removed = apply_rule(tag)
            tag_rule.append(time.perf_counter() - started)
            details["tag_rule"] = {"added": added, "removed": removed}
            transaction.set_rollback(True)
    return [
        {
            "key": "tag_rule",
            "title": "Automatic tag applied to every customer (bought in 90 days)",
            **summarise(tag_rule),
            "detail": details["tag_rule"],
        },
        {
            "key": "placement",
            "title": "Rank recalculation, every customer (first placement)",
            **summarise(placement),
            "detail": details["placement"],
        },
        {
            "key": "recalculate",
            "title": "Rank recalculation, every customer (nightly re-run)",
            **summarise(nightly),
            "detail": details["nightly"],
        },
        {
            "key": "simulate",
            "title": "Impact simulation (Gold threshold +20%)",
            **summarise(simulation),
            "detail": details["simulate"],
        },
    ]
