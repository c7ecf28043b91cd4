"""The import's writer pipeline: a batch's planned writes (`Plan`), written by a thread of their
own on a connection of their own on PostgreSQL (`Pipeline`) while the next batch is parsed."""

import logging
import sys
import threading
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import DatabaseError, connection

from customers.models import (
    Customer,
    CustomerEvent,
    MarketingConsent,
    PointsTransaction,
)
from migration import writer
from migration.models import ImportBatch
from ranks.models import RankChange
from tags.models import CustomerTag

logger = logging.getLogger("loyalty.imports")


POINT_COLUMNS = [
    "customer_id", "delta", "reason", "balance_after", "reference", "created_at", "created_by_id",
]  # fmt: skip


LINK_COLUMNS = ["customer_id", "tag_id", "source", "assigned_by_id", "assigned_at"]


RANK_COLUMNS = [
    "customer_id", "from_rank_id", "to_rank_id", "from_name", "to_name", "reason", "note",
    "qualifying_amount", "actor_id", "created_at",
]  # fmt: skip


EVENT_COLUMNS = ["customer_id", "kind", "actor_id", "message", "changes", "created_at"]


def rank_change_row(customer_id, old, new, names: dict, reason, note, amount, actor_pk, now):
    """One rank-history row in RANK_COLUMNS order (the names as they are now)."""
    return (customer_id, old, new, names.get(old, ""), names.get(new, ""), reason, note, amount,
            actor_pk, now)  # fmt: skip


CONSENT_COLUMNS = ["customer_id", "channel", "granted", "changed_at", "source"]
BATCH_COLUMNS = ["job_id", "written_at", "created_ids", "previous", "points", "tag_links"]


# What a batch inserts as it is, one plain COPY each (nothing in them can conflict): the plan's
# attribute → the model and its columns (None: the plan's own `customer_columns`). Customers
# come first; the other rows refer to them.
PLAIN_INSERTS = {
    "customers": (Customer, None),
    "points": (PointsTransaction, POINT_COLUMNS),
    "links": (CustomerTag, LINK_COLUMNS),
    "rank_changes": (RankChange, RANK_COLUMNS),
    "events": (CustomerEvent, EVENT_COLUMNS),
}


@dataclass
class Plan:
    """One batch's writes, ready to go: built by the main thread, written by `execute`."""

    batch: ImportBatch
    customer_columns: list = field(default_factory=list)
    customers: list = field(default_factory=list)
    update_columns: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    points: list = field(default_factory=list)
    links: list = field(default_factory=list)  # of new customers: nothing to conflict with
    update_links: list = field(default_factory=list)  # of matched customers
    rank_changes: list = field(default_factory=list)
    events: list = field(default_factory=list)
    consents: list = field(default_factory=list)  # new answers: insert, or update the old

    def render(self) -> None:
        """Turn the plain inserts into COPY text now, on the thread that built them, so that
        the writer thread only waits on the server."""
        self.rendered = {name: writer.prerender(getattr(self, name)) for name in PLAIN_INSERTS}

    def execute(self, cursor) -> None:
        """A fixed handful of statements whatever the batch size."""
        rendered = getattr(self, "rendered", {})
        for name, (model, columns) in PLAIN_INSERTS.items():
            rows = rendered.get(name, getattr(self, name))
            writer.insert(model, columns or self.customer_columns, rows, cursor=cursor)
        writer.update(Customer, self.update_columns, self.updates, cursor=cursor)
        # A matched customer may have gained one of these tags since the batch read its links.
        added = writer.insert(
            CustomerTag,
            LINK_COLUMNS,
            self.update_links,
            returning=("customer_id", "tag_id"),
            ignore_conflicts=True,
            cursor=cursor,
        )
        writer.upsert(
            MarketingConsent,
            CONSENT_COLUMNS,
            self.consents,
            key=("customer_id", "channel"),
            cursor=cursor,
        )
        batch = self.batch
        batch.tag_links = [[cid, tid] for cid, tid, *_rest in self.links]
        batch.tag_links += [list(pair) for pair in added]
        writer.insert(
            ImportBatch,
            BATCH_COLUMNS,
            [(batch.job_id, batch.written_at, batch.created_ids, batch.previous, batch.points,
              batch.tag_links)],
            cursor=cursor,
        )  # fmt: skip


class Pipeline:
    """Writes each batch on a writer thread while the main thread prepares the next.

    On PostgreSQL the thread uses the import's own connection — the same transaction — and
    spends its time waiting on the server, so the main thread's parsing and row building for
    the next batch overlap the writes. The two threads never talk to the server at the same
    time: each holds `lock` around its statements (psycopg2 would deadlock a COPY, which reads
    its data through Python, against a query from the other thread). One batch is in flight at
    a time; an error in the writer surfaces at the next submit or at `drain`, and the
    transaction is never left while the writer still uses it. On SQLite the writes run inline.

    While the writer runs, the interpreter's switch interval drops to `SWITCH_INTERVAL`: each
    statement the writer finishes needs the GIL back from the busy main thread, and waiting out
    the default interval for each of a batch's statements slowed imports (`make bench`'s import
    rows). It is put back when the pipeline closes.
    """

    SWITCH_INTERVAL = 0.0005

    def __enter__(self):
        self.pending, self.executor, self.interval = None, None, None
        self.lock = threading.RLock()  # the importer nests its reads under one hold
        if connection.vendor == "postgresql":
            connection.ensure_connection()
            self.raw = connection.connection
            self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer")
            self.interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self.interval, self.SWITCH_INTERVAL))
        return self

    def submit(self, plan: Plan) -> None:
        if self.executor is None:
            with connection.cursor() as cursor:
                plan.execute(cursor)
            return
        self.drain()
        self.pending = self.executor.submit(self._write, plan)

    def _write(self, plan: Plan) -> None:
        with self.lock, self.raw.cursor() as cursor:
            plan.execute(cursor)

    def drain(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            pending.result()

    def writer_error(self) -> BaseException | None:
        """The writer's error, if the batch in flight failed: once it has, the main thread's
        next statement only meets "current transaction is aborted", which hides the cause."""
        if self.pending is None:
            return None
        futures.wait([self.pending])
        return self.pending.exception()

    def __exit__(self, *exc_info):
        if self.executor is not None:
            if self.pending is not None:
                futures.wait([self.pending])
            self.executor.shutdown(wait=True)
            sys.setswitchinterval(self.interval)
        return False


@contextmanager
def cause_first(pipeline: Pipeline):
    """Raise the writer's own error instead of the aborted transaction it left behind."""
    try:
        yield
    except DatabaseError as error:
        cause = pipeline.writer_error()
        if cause is not None and cause is not error:
            raise cause from None
        raise
