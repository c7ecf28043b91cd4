"""Database helpers: for migrations, and for how interactive pages run their queries."""

from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def without_parallel_workers():
    """Run the enclosed queries without parallel workers (PostgreSQL; elsewhere a no-op).

    A list page wants its first rows now. On a small database server, starting parallel
    workers for a LIMIT query costs more than they save: at 1,000,000 customers on 2 cores the
    customer list's queries for a reward filter took 40 ms with them and 17 ms without, a tag
    filter 28 and 11 ms, and no list case got slower. Background work (exports, rank
    recalculation) keeps the server's setting: the block puts it back when it ends, also when
    it runs inside a longer transaction (SET LOCAL alone would last until that one ends); on an
    error the rollback to the block's savepoint undoes it.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield
        cursor.execute("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")


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
