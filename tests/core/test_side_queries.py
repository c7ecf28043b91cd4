"""Reads a page runs beside its own, on a connection of their own (core.db.side_query),
and the list's setting for its own (without_parallel_workers)."""

import time

import pytest
from django.db import ProgrammingError, connection, transaction

from core.db import close_side_connections, side_query, without_parallel_workers

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="side connections are PostgreSQL's"
)


def _backend():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_backend_pid(), current_setting('max_parallel_workers_per_gather')"
        )
        return cursor.fetchone()


def _broken():
    with connection.cursor() as cursor:
        cursor.execute("SELECT no_such_column FROM customers_customer")


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_side_query_runs_on_its_own_connection_without_parallel_workers():
    future = side_query(_backend)
    assert future is not None
    pid, workers = future.result(timeout=10)
    own_pid, own_workers = _backend()
    assert pid != own_pid
    assert workers == "0"
    assert own_workers != "0"  # the caller's connection keeps the server's setting


@postgresql
@pytest.mark.django_db(transaction=True)
def test_a_side_query_error_reaches_the_caller_and_the_connection_recovers():
    with pytest.raises(ProgrammingError):
        side_query(_broken).result(timeout=10)
    assert side_query(_backend).result(timeout=10)[1] == "0"


@pytest.mark.django_db
def test_no_side_query_inside_a_transaction():
    """The test's transaction holds rows another connection cannot see (on SQLite, there are
    no side connections at all): the caller runs the query itself."""
    assert side_query(_backend) is None


@postgresql
@pytest.mark.django_db(transaction=True)
def test_side_queries_can_be_turned_off(settings):
    settings.SIDE_QUERY_THREADS = 0
    assert side_query(_backend) is None


@postgresql
@pytest.mark.django_db(transaction=True)
def test_closing_side_connections_ends_their_sessions():
    pids = {side_query(_backend).result(timeout=10)[0] for _ in range(6)}
    close_side_connections()
    deadline = time.monotonic() + 10
    while True:  # a server process leaves a moment after its client has gone
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", [list(pids)]
            )
            left = cursor.fetchone()[0]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert left == 0
    assert side_query(_backend).result(timeout=10)  # a later page starts them again


def _workers() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        return cursor.fetchone()[0]


@postgresql
@pytest.mark.django_db(transaction=True)
def test_without_parallel_workers_puts_back_the_value_it_found():
    """Outside a transaction, as a request runs: also when the block ends in an error."""
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 3")
    with without_parallel_workers():
        assert _workers() == "0"
    assert _workers() == "3"
    with pytest.raises(ProgrammingError), without_parallel_workers():
        _broken()
    assert _workers() == "3"
    with pytest.raises(KeyError), without_parallel_workers():
        {}["a Python error"]
    assert _workers() == "3"


@postgresql
@pytest.mark.django_db(transaction=True)
def test_without_parallel_workers_in_a_transaction_that_fails():
    """The setting cannot be put back in a failed transaction; its rollback puts it back, and
    the block's own error is the one raised."""
    with connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 3")
    seen = []

    def fail_inside():
        with transaction.atomic(), without_parallel_workers():
            seen.append(_workers())
            _broken()

    with pytest.raises(ProgrammingError):
        fail_inside()
    assert seen == ["0"]
    assert _workers() == "3"
    with transaction.atomic(), without_parallel_workers():
        assert _workers() == "0"
    assert _workers() == "3"
