"""Database helpers: for migrations, and for how interactive pages run their queries."""

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from django.conf import settings
from django.db import close_old_connections, connection, transaction


@contextmanager
def without_parallel_workers():
    """Run the enclosed reads without parallel workers (PostgreSQL; elsewhere a no-op).

    A list page wants its first rows now, and on a small database server starting parallel
    workers for a LIMIT query costs more than they save (`make bench`). The setting is made
    with SET LOCAL inside a transaction of the block's own, so it ends with that transaction
    and a pooler in transaction mode never hands it to another client; inside a transaction
    that is already open, the value found is put back (also with SET LOCAL) when the block ends.
    """
    if connection.vendor != "postgresql":
        yield
        return
    outer = connection.in_atomic_block
    with transaction.atomic():
        found = _set_local_parallel_workers("0")
        yield
        if outer:
            _set_local_parallel_workers(found)


def _set_local_parallel_workers(value: str) -> str:
    """SET LOCAL max_parallel_workers_per_gather; return the value it had."""
    with connection.cursor() as cursor:
        # The target list is evaluated left to right: the value found, then the new one.
        cursor.execute(
            "SELECT current_setting('max_parallel_workers_per_gather'), "
            "set_config('max_parallel_workers_per_gather', %s, true)",
            [value],
        )
        return cursor.fetchone()[0]


_side_pool: ThreadPoolExecutor | None = None
_side_pool_size = 0
_side_pool_lock = threading.Lock()


def _forget_side_pool() -> None:
    """A forked child (a pre-forking server's worker) has none of its parent's threads."""
    global _side_pool
    _side_pool = None


os.register_at_fork(after_in_child=_forget_side_pool)


def side_query(query, *args) -> Future | None:
    """Start `query(*args)` — a read that does not need the caller's transaction — on a
    connection of its own, and return its Future; or None when it cannot, and the caller
    runs it on its own connection when it needs the answer.

    A list page needs two independent answers from the database, its rows and how many
    matches there are, and waits for each in turn while the server's other core idles. With
    the count on a side connection, the two run at once and the count also overlaps the
    Python that turns the rows into HTML, so a search's capped count no longer adds to its
    page (docs/performance.md).

    Only on PostgreSQL, and only outside a transaction: a query inside one may depend on what
    it has written and not committed (a test's data, too), which another connection cannot
    see. `SIDE_QUERY_THREADS` sets how many side connections a process keeps (0 turns them
    off); each thread opens its connection when first used and keeps it as request threads do
    (`CONN_MAX_AGE`, health checks). Queries run without parallel workers, as the page's own.
    An error in the query is raised by the Future's `result()`, on the caller's thread.
    """
    threads = settings.SIDE_QUERY_THREADS
    if threads <= 0 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return None
    global _side_pool, _side_pool_size
    with _side_pool_lock:
        if _side_pool is None:
            _side_pool = ThreadPoolExecutor(threads, thread_name_prefix="side-query")
            _side_pool_size = threads
    return _side_pool.submit(_run_side_query, query, args)


def close_side_connections() -> None:
    """Close every side connection and stop their threads (at a test's end; at shutdown the
    threads exit with the process). Each thread closes its own connection — Django connections
    belong to the thread that opened them — so one task goes to each thread, and a barrier
    keeps a thread from taking a second one."""
    global _side_pool
    with _side_pool_lock:
        pool, _side_pool = _side_pool, None
    if pool is None:
        return
    barrier = threading.Barrier(_side_pool_size)

    def close():
        connection.close()
        barrier.wait(timeout=10)

    for done in [pool.submit(close) for _ in range(_side_pool_size)]:
        done.result()
    pool.shutdown(wait=True)


def _run_side_query(query, args):
    # A side connection lives as a request's does: replaced when broken or past CONN_MAX_AGE
    # (what Django's request_started and request_finished signals do for a request's thread).
    close_old_connections()
    try:
        with without_parallel_workers():  # page reads, as the page's own
            return query(*args)
    finally:
        close_old_connections()


def postgresql_only(statements: list[str]):
    """A RunPython function that executes `statements` on PostgreSQL and does nothing elsewhere.

    For what SQLite has no equivalent of (trigram and GIN indexes, expression and partial
    indexes the model state does not describe); the queries stay correct without them.
    """

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


def refresh_statistics(model) -> None:
    """ANALYZE the model's table now (PostgreSQL), after a set-based write that changed a large
    part of it: until autovacuum gets to it the planner would plan with the old row counts (a
    new audience of 100,000 members planned as 1,600 made its first list page 10x slower)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {model._meta.db_table}")
