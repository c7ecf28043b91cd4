"""Database helpers: for migrations, and for how interactive pages run their queries."""

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection


@contextmanager
def without_parallel_workers():
    """Run the enclosed queries without parallel workers (PostgreSQL; elsewhere a no-op).

    A list page wants its first rows now. On a small database server, starting parallel
    workers for a LIMIT query costs more than they save: at 1,000,000 customers on 2 cores the
    customer list's queries for a reward filter took 40 ms with them and 17 ms without, a tag
    filter 28 and 11 ms, and no list case got slower. Background work (exports, rank
    recalculation) keeps the connection's setting: the block puts back the value it found,
    in one statement at each end and without a transaction of its own. Should the block end
    in an error inside a transaction that has failed, the setting cannot be put back there,
    and need not be: PostgreSQL undoes a setting changed in a transaction that rolls back.
    """
    if connection.vendor != "postgresql":
        yield
        return
    found = _set_parallel_workers("0")
    try:
        yield
    except BaseException:
        # A failed transaction (its rollback restores the value) or a broken connection.
        with suppress(DatabaseError):
            _set_parallel_workers(found)
        raise
    _set_parallel_workers(found)


def _set_parallel_workers(value: str) -> str:
    """Set max_parallel_workers_per_gather on this connection; return the value it had."""
    with connection.cursor() as cursor:
        # The target list is evaluated left to right: the value found, then the new one.
        cursor.execute(
            "SELECT current_setting('max_parallel_workers_per_gather'), "
            "set_config('max_parallel_workers_per_gather', %s, false)",
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
    Python that turns the rows into HTML: at 1,000,000 customers a name search's capped count
    (13–17 ms) no longer adds to its page (see the README's benchmark).

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


_side_connection = threading.local()


def _run_side_query(query, args):
    # A side connection lives as a request's does: replaced when broken or past CONN_MAX_AGE
    # (what Django's request_started and request_finished signals do for a request's thread).
    close_old_connections()
    try:
        connection.ensure_connection()
        if getattr(_side_connection, "configured", None) is not connection.connection:
            # It only ever runs page reads: no parallel workers, set once per connection.
            _set_parallel_workers("0")
            _side_connection.configured = connection.connection
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
