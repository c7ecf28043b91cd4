"""The import engine: one run of a file against the customer table, for the wizard and the
command alike.

A run reads the file in batches (`IMPORT_BATCH_SIZE` rows). Each row is parsed cell by cell
with the rules of `migration.fields`; a row with any problem is an error row, reported with its
row number, column and message. Each batch then costs a fixed handful of statements whatever its
size: one SELECT … FOR UPDATE of the customers its keys match, one SELECT per other unique
identifier it carries (is the email someone else's?), and set-based writes through
`migration.writer` (COPY into a staging table on PostgreSQL, then one INSERT … SELECT and one
UPDATE … FROM). Ranks, stores and tags are resolved in memory, never a query per row.

The whole run is one transaction: under "all or nothing" the first invalid row stops the writes
(the rest of the file is still checked, so that every problem is reported) and the transaction
rolls back; under "skip invalid rows" exactly the valid rows are written; a crash leaves nothing
behind either way. A dry run is the same run, rolled back at the end.

A key seen twice in the file is not "last wins": the later row is an error naming the earlier
row, whose values are imported. After the writes, the ranks of the customers whose points or rank
the import touched are re-evaluated with the set-based rank engine, and every batch leaves an
`ImportBatch` with what undo needs.

Why one module of this size: the run's parts (parsing, matching, planning, the writer pipeline,
reporting) share one per-run state object and are read together when a run misbehaves; it is
to be split into those parts (an open item of the architecture issue), not grown further.
"""

import logging
import os
import secrets
import sys
import tempfile
import threading
from array import array
from bisect import bisect_left
from collections import deque
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.xlsx_stream import XlsxStreamWriter
from customers.models import (
    Customer,
    CustomerEvent,
    CustomFieldDefinition,
    PointsTransaction,
    Store,
)
from customers.phone import phone_search_forms
from customers.search_text import build_search_text, fold
from customers.selectors import forget_member_figures
from migration import fields as f
from migration import writer
from migration.files import Source
from migration.models import ImportBatch, ImportJob, MatchKey, Policy
from migration.progress import clear as clear_progress
from migration.progress import publish as publish_progress
from ranks import engine as rank_engine
from ranks.engine import Settings
from ranks.models import Rank, RankChange, RankPolicy
from ranks.selectors import default_rank, forget_members_per_rank
from tags.models import CustomerTag, Tag
from tags.services import create_tag_named, forget_counts, name_key

logger = logging.getLogger("loyalty.imports")

UNIQUE_FIELDS = ("old_member_id", "email", "phone", "member_number")
SEARCH_INPUTS = ("email", "phone", "member_number", "old_member_id", "first_name", "last_name")
TEXT_LIMITS = {
    "first_name": 80,
    "last_name": 80,
    "address": 255,
    "city": 80,
    "old_member_id": 64,
    "member_number": 20,
}
# What an emptied cell sets, for fields that may be cleared.
EMPTY = {
    "email": None,
    "phone": None,
    "old_member_id": None,
    "date_of_birth": None,
    "preferred_store_id": None,
    "first_name": "",
    "last_name": "",
    "gender": "",
    "address": "",
    "city": "",
    "country": "",
    "referral_source": "",
    "referred_by_id": None,
    "last_access_at": None,
    "followed_oa_at": None,
    "app_last_seen_at": None,
}
DATETIMES = ("joined_at", "last_access_at", "followed_oa_at", "app_last_seen_at")
PREVIEW_ROWS = 100
WINDOW = 3  # batches: the one being read, the one being built, the one being written
# Undo restores these differently: points through a reversing ledger entry, and the time of
# the last change is the undo's own.
NOT_RESTORED = ("updated_at", "points_balance", "lifetime_points", "search_text")
RANK, STORE = gettext_lazy("rank"), gettext_lazy("store")
CUSTOMER_FIELDS = {
    field.attname: field for field in Customer._meta.concrete_fields if not field.primary_key
}


class _Rollback(Exception):
    pass


@dataclass
class ParsedRow:
    number: int
    cells: list
    values: dict = field(default_factory=dict)  # model attname → value
    custom: dict = field(default_factory=dict)  # custom key → value (None removes)
    tags: list = field(default_factory=list)  # tag ids
    new_tags: list = field(default_factory=list)  # names of tags to create if the row is valid
    points: int | None = None
    phone_forms: list | None = None
    errors: list = field(default_factory=list)  # (column header, message)
    outcome: str = ""
    changed: list = field(default_factory=list)
    customer_id: int | None = None
    key: object = None
    referrer: str | None = None  # member number, resolved per batch
    referrer_row: "ParsedRow | None" = None  # a new customer of the same batch it names

    def error(self, column: str, message: str) -> None:
        self.errors.append((column, message))


@dataclass
class Result:
    total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    preview: list = field(default_factory=list)
    error_path: Path | None = None
    written: bool = False


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

    While the writer runs, the interpreter's switch interval drops from 5 ms to 0.5 ms: each
    statement the writer finishes needs the GIL back from the busy main thread, and waiting out
    5 ms a time for a handful of statements per batch cost ~10% of an import (measured with
    `make bench`'s import rows). It is put back when the pipeline closes.
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
def _cause_first(pipeline: Pipeline):
    """Raise the writer's own error instead of the aborted transaction it left behind."""
    try:
        yield
    except DatabaseError as error:
        cause = pipeline.writer_error()
        if cause is not None and cause is not error:
            raise cause from None
        raise


class ErrorFile:
    """The downloadable list of problems: one line per problem with the original row."""

    def __init__(self, headers: list[str]):
        self.path = None  # a temporary file of its own, made at the first problem
        self.headers = headers
        self.workbook = None
        self.line = 0

    def add(self, row: ParsedRow) -> None:
        if self.workbook is None:
            handle, name = tempfile.mkstemp(suffix=".xlsx")
            os.close(handle)
            self.path = Path(name)
            self.workbook = XlsxStreamWriter(
                self.path, [_("Row"), _("Column"), _("Problem"), *self.headers], str(_("Problems"))
            )
        original = [f.text(cell) if cell not in (None, "") else None for cell in row.cells]
        for column_name, message in row.errors:
            self.line += 1
            self.workbook.write_row([row.number, column_name, message, *original])

    def close(self) -> Path | None:
        if self.workbook is None:
            return None
        self.workbook.close()
        return self.path


class Progress:
    """Rows done, where the job page sees them while the import's own transaction is still
    open: the job row, written from a second connection, on PostgreSQL; on SQLite (one writer
    at a time) a file beside the uploads (`migration.progress`)."""

    def __init__(self, job: ImportJob | None, callback=None):
        self.job, self.callback, self.side, self.published = job, callback, None, False
        if job is not None and job.pk:
            if connection.vendor == "postgresql":
                self.side = connections.create_connection("default")
            else:
                self.published = True
                clear_progress(job.pk)  # a failed earlier run's count is not this run's

    def __call__(self, done: int, total: int | None) -> None:
        if self.side is not None:
            with self.side.cursor() as cursor:
                cursor.execute(
                    f"UPDATE {ImportJob._meta.db_table} SET rows_done = %s,"  # noqa: S608
                    " heartbeat_at = now() WHERE id = %s",
                    [done, self.job.pk],
                )
        elif self.published:
            publish_progress(self.job.pk, done)
        if self.callback is not None:
            self.callback(done, total)

    def close(self) -> None:
        if self.side is not None:
            self.side.close()
        if self.published:
            clear_progress(self.job.pk)


class Importer:
    def __init__(self, job: ImportJob, source: Source, *, actor=None, progress=None):
        self.job, self.source, self.actor = job, source, actor
        self.mapping = {int(position): name for position, name in job.mapping.items()}
        self.headers = {
            name: source.headers[position] or f"#{position + 1}"
            for position, name in self.mapping.items()
            if position < len(source.headers)
        }
        self.match_key = job.match_key
        self.result = Result()
        self.errors = ErrorFile(source.headers)
        self.progress = Progress(job, progress)
        self.writing = True
        # In-file duplicates, in memory only for the batches that may not be in the table yet
        # (this one and the two before it); older rows are found in the table by the batch's
        # own lookups and traced back to their row numbers below. Once writing stops (all or
        # nothing, after an invalid row), later keys are all kept in memory instead.
        self.recent: deque[dict] = deque(maxlen=WINDOW)
        self.unwritten: dict[tuple[str, object], int] = {}
        self.created_ids, self.created_rows = array("q"), array("q")  # ascending ids
        self.matched_rows: dict[int, int] = {}  # customer id → row that matched it
        # Member numbers the file gives its new customers → their ids (0 until one is taken,
        # and in a dry run), so that a later row can name an earlier one as its referrer. Kept
        # only when a column maps to the referrer.
        self.file_numbers: dict[str, int] | None = (
            {} if "referred_by" in self.mapping.values() else None
        )
        self.touched: list[int] = []  # customers whose rank needs a look after the writes
        self.now = timezone.now()
        self.definitions = {d.key: d for d in CustomFieldDefinition.objects.filter(is_active=True)}
        self.ranks = _lookup(Rank.objects.all())
        self.rank_names = dict(Rank.objects.values_list("pk", "name"))
        self.stores = _lookup(Store.objects.all())
        self.tags = {name_key(tag.name): tag for tag in Tag.objects.all()}
        self.created_tags: list[int] = []
        self.generated: deque[set] = deque(maxlen=WINDOW)  # member numbers not yet written
        self.db_lock = threading.RLock()  # the pipeline's, while a run is on

        default = default_rank()
        self.default_rank_id = default.pk if default else None

        self.rank_settings = Settings.current()
        self.reference = job.reference

    # --- the run ------------------------------------------------------------------------

    def run(self) -> Result:
        rows = self.source.rows()
        size = settings.IMPORT_BATCH_SIZE
        total = self.job.total_rows
        try:
            try:
                with transaction.atomic(), Pipeline() as pipeline, _cause_first(pipeline):
                    self.db_lock, planned = pipeline.lock, None
                    while batch := list(islice(rows, size)):
                        self.recent.append({})
                        parsed = [self._parse(number, cells) for number, cells in batch]
                        found = self._read(parsed)
                        # The previous batch's writes go to the writer now, after this batch's
                        # reads: the Python work below overlaps them.
                        if planned is not None and self.writing:
                            pipeline.submit(planned)
                        work = self._classify(parsed, *found)
                        planned = self._plan(*work) if work else None
                        self.result.total += len(batch)
                        self.progress(self.result.total, total)
                    if planned is not None and self.writing:
                        pipeline.submit(planned)
                    pipeline.drain()
                    self._finish()
                    if self.job.dry_run or (
                        self.job.policy == Policy.ALL_OR_NOTHING and self.result.failed
                    ):
                        raise _Rollback
                    self.result.written = True
                forget_cached_figures()
            except _Rollback:
                pass
        finally:
            self.progress.close()
            self.result.error_path = self.errors.close()
        if not self.result.written and not self.job.dry_run:
            self.result.created = self.result.updated = self.result.unchanged = 0
        return self.result

    def _finish(self) -> None:
        if not self.writing:
            return
        if self.touched:
            reevaluate_ranks(self.touched, actor=self.actor, now=self.now)
        if self.created_tags:
            self.job.created_tag_ids = self.created_tags

    # --- one row ------------------------------------------------------------------------

    def _parse(self, number: int, cells: list) -> ParsedRow:
        row = ParsedRow(number, cells)
        for position, name in self.mapping.items():
            cell = cells[position] if position < len(cells) else None
            header = self.source.headers[position] or f"#{position + 1}"
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                self._empty(row, name)
                continue
            if isinstance(cell, str) and "\x00" in cell:  # no database text can hold it
                row.error(header, _("The cell holds a NUL character, which cannot be stored."))
                continue
            try:
                self._cell(row, name, cell)
            except f.CellError as error:
                row.error(header, str(error))
        key = row.values.get(self.match_key)
        if key is None and not row.errors:
            row.error(
                _("Match key"),
                _("The row has no %(key)s, which matches rows to customers.")
                % {"key": MatchKey(self.match_key).label},
            )
        row.key = key
        for name in UNIQUE_FIELDS:
            value = row.values.get(name)
            if value is None:
                continue
            earlier = self._earlier((name, value))
            if earlier is not None:
                self._twice(row, name, earlier)
            elif row.errors:  # never written: a later row with this key is still a second one
                self.unwritten[(name, value)] = number
            else:
                (self.recent[-1] if self.writing else self.unwritten)[(name, value)] = number
        return row

    def _earlier(self, key) -> int | None:
        for seen in self.recent:
            if key in seen:
                return seen[key]
        return self.unwritten.get(key)

    def _our_row(self, customer_id: int) -> int | None:
        """The row of this file that created or matched the customer, if one did."""
        position = bisect_left(self.created_ids, customer_id)
        if position < len(self.created_ids) and self.created_ids[position] == customer_id:
            return self.created_rows[position]
        return self.matched_rows.get(customer_id)

    def _column(self, name: str) -> str:
        """The file's header of the column mapped to a field (the field's name otherwise)."""
        field = CUSTOMER_FIELDS.get(name) or CUSTOMER_FIELDS[f"{name}_id"]
        return self.headers.get(name) or str(field.verbose_name)

    def _twice(self, row: ParsedRow, name: str, earlier: int) -> None:
        row.error(
            self._column(name),
            _("Same %(field)s as row %(row)s (“%(value)s”); the file has it twice.")
            % {
                "field": CUSTOMER_FIELDS[name].verbose_name,
                "row": earlier,
                "value": row.values[name],
            },
        )

    def _empty(self, row: ParsedRow, name: str) -> None:
        if not self.job.empty_clears:
            return
        if name.startswith(f.CUSTOM_PREFIX):
            row.custom[name[len(f.CUSTOM_PREFIX) :]] = None
            return
        if name in ("preferred_store", "referred_by"):
            name = f"{name}_id"
        if name in EMPTY:
            row.values[name] = EMPTY[name]

    def _cell(self, row: ParsedRow, name: str, cell) -> None:
        values = row.values
        if name.startswith(f.CUSTOM_PREFIX):
            definition = self.definitions.get(name[len(f.CUSTOM_PREFIX) :])
            if definition is not None:
                row.custom[definition.key] = f.parse_custom(definition, cell)
        elif name in TEXT_LIMITS:
            value = f.limited(cell, TEXT_LIMITS[name])
            values[name] = value.upper() if name == "member_number" else value
        elif name == "full_name":
            last, _space, first = " ".join(f.text(cell).split()).partition(" ")
            values.setdefault("last_name", f.limited(last, 80))
            values.setdefault("first_name", f.limited(first, 80))
        elif name == "email":
            values["email"] = f.parse_email(cell)
        elif name == "phone":
            phone = f.parse_phone_cell(cell)
            values["phone"], row.phone_forms = phone.e164, phone.forms
        elif name == "date_of_birth":
            values[name] = f.parse_datetime(cell, with_time=False)
        elif name in DATETIMES:
            values[name] = f.parse_datetime(cell, with_time=True)
        elif name == "referred_by":
            row.referrer = f.limited(cell, 20).upper()
        elif name in f.MODEL_CHOICES:
            values[name] = f.parse_choice(cell, f.MODEL_CHOICES[name], CUSTOMER_FIELDS[name])
        elif name == "country":
            raw = f.text(cell)
            code = f.COUNTRIES.get(fold(raw), raw.upper())
            if len(code) != 2 or not code.isalpha():
                raise f.CellError(_("“%(value)s” is not a country code.") % {"value": raw})
            values[name] = code
        elif name == "rank":
            values["rank_id"] = _resolve(self.ranks, cell, RANK).pk
        elif name == "preferred_store":
            values["preferred_store_id"] = _resolve(self.stores, cell, STORE).pk
        elif name == "points_balance":
            points = f.parse_decimal(cell)
            if points != points.to_integral_value() or points < 0:
                raise f.CellError(
                    _("“%(value)s” is not a whole number of points (0 or more).")
                    % {"value": f.text(cell)}
                )
            row.points = int(points)
        elif name == "tags":
            row.tags = self._tags(cell, row.new_tags)

    def _tags(self, cell, new: list) -> list[int]:
        """The ids of the cell's existing tags; names of missing ones are added to `new`."""
        ids = []
        for name in f.text(cell).replace(";", ",").split(","):
            name = " ".join(name.split())
            if not name:
                continue
            tag = self.tags.get(name_key(name))
            if tag is None:
                if not self.job.create_tags:
                    raise f.CellError(
                        _("There is no tag “%(name)s” (allow creating missing tags to add it).")
                        % {"name": name}
                    )
                if len(name) > 80:
                    raise f.CellError(_("A tag name is longer than 80 characters."))
                new.append(name)  # created once the row is known to be valid (_new_tags)
                continue
            if tag.kind == Tag.Kind.AUTOMATIC:
                raise f.CellError(
                    _("“%(name)s” is an automatic tag; its rule assigns it.") % {"name": tag.name}
                )
            ids.append(tag.pk)
        return ids

    # --- one batch ----------------------------------------------------------------------

    def _read(self, rows: list[ParsedRow]):
        """Everything a batch asks the database, in one hold of the connection: its referrers,
        the customers its keys match (locked), the identifiers other customers hold, the
        matched customers' tags, and member numbers and ids for its new customers. The batch
        is checked as far as those answers need; the rest is Python (`_classify`), which runs
        while the writer writes the batch before."""
        with self.db_lock:
            valid = [row for row in rows if not row.errors]
            existing = self._existing(valid)
            for row in valid:
                current = existing.get(row.key)
                earlier = current and self._our_row(current["id"])
                if earlier:
                    self._twice(row, self.match_key, earlier)
            self._check_unique(valid, existing)
            current_links = self._current_links(valid, existing)
            creates = []
            for row in valid:
                if not row.errors and row.key not in existing:
                    self._check_new(row)
                    if not row.errors:
                        creates.append(row)
            self._referrers(rows, creates)
            valid = [row for row in valid if not row.errors]
            creates = [row for row in creates if not row.errors]
            self._report_errors(rows)
            self._new_tags(valid)
            if self.writing and creates:
                self._number(creates)
            self._remember_numbers(rows, valid, creates)
        return valid, existing, current_links, creates

    def _new_tags(self, valid: list[ParsedRow]) -> None:
        """Create the tags valid rows name that do not exist yet (a skipped row creates none)."""
        for row in valid:
            for name in row.new_tags:
                tag = self.tags.get(name_key(name))
                if tag is None:
                    tag = create_tag_named(name=name, actor=self.actor)
                    self.tags[name_key(name)] = tag
                    self.created_tags.append(tag.pk)
                row.tags.append(tag.pk)

    def _report_errors(self, rows: list[ParsedRow]) -> None:
        for row in rows:
            if row.errors:
                row.outcome = "error"
                self.result.failed += 1
                self.errors.add(row)
                for name in UNIQUE_FIELDS:  # never written: its keys stay known to later rows
                    if row.values.get(name) is not None:
                        self.unwritten.setdefault((name, row.values[name]), row.number)
                if self.job.policy == Policy.ALL_OR_NOTHING and self.writing:
                    self.writing = False
                    for seen in self.recent:  # none of these will reach the table now
                        self.unwritten.update(seen)
                    self.recent.clear()
                    self.recent.append({})

    def _number(self, creates: list[ParsedRow]) -> None:
        """Member numbers (generated where the file has none) and ids for new customers."""
        numbers = self._member_numbers(creates)
        ids = writer.allocate_ids(Customer, len(creates))
        for row, number, pk in zip(creates, numbers, ids, strict=True):
            row.values["member_number"], row.customer_id = number, pk
        if ids and self.created_ids and ids[0] < self.created_ids[-1]:
            raise RuntimeError("the customer id sequence went backwards during the import")
        self.created_ids.extend(ids)
        self.created_rows.extend(row.number for row in creates)

    def _classify(self, rows, valid, existing, current_links, creates):
        """New, update or unchanged for each valid row (no queries); the batch's writes to
        plan, or None when there are none (or nothing is written any more)."""
        updates = []
        for row in creates:
            row.outcome = "new"
        for row in valid:
            if row.errors or row.key not in existing:
                continue
            current = existing[row.key]
            row.customer_id = current["id"]
            self.matched_rows[row.customer_id] = row.number
            self._diff(row, current, current_links.get(current["id"], set()))
            if row.changed:
                updates.append((row, current))
                row.outcome = "update"
            else:
                row.outcome = "unchanged"
        self.result.created += len(creates)
        self.result.updated += len(updates)
        self.result.unchanged += sum(1 for row in valid if row.outcome == "unchanged")
        self._preview(rows)
        if not self.writing or not (creates or updates):
            return None
        return creates, updates

    def _referrers(self, batch: list[ParsedRow], creates: list[ParsedRow]) -> None:
        """Referrers by member number: a customer in the table (one lookup for the batch), a
        new customer of an earlier row of the file, or one of this batch's new customers (its
        id is filled in when the batch's ids are taken). A referrer named only by a later row,
        or whose own row is invalid, is an error of this row."""
        rows = [row for row in batch if row.referrer and not row.errors]
        if not rows:
            return
        with self.db_lock:
            found = dict(
                Customer.objects.filter(
                    member_number__any_of={row.referrer for row in rows}
                ).values_list("member_number", "id")
            )
        in_batch = {  # new customers of this batch, and rows that failed (to say so)
            row.values["member_number"]: row
            for row in (*creates, *(row for row in batch if row.errors))
            if row.values.get("member_number")
        }
        label = self._column("referred_by")
        for row in rows:
            number = row.referrer
            if number == row.values.get("member_number"):
                row.error(label, _("A customer cannot be their own referrer."))
            elif number in found:
                row.values["referred_by_id"] = found[number]
            elif self.file_numbers is not None and number in self.file_numbers:
                known = self.file_numbers[number]
                if known < 0:
                    row.error(label, self._failed_referrer(-known))
                elif known:
                    row.values["referred_by_id"] = known
            elif number in in_batch and in_batch[number].number < row.number:
                row.referrer_row = in_batch[number]
            else:
                row.error(
                    label,
                    _(
                        "No customer has the member number “%(number)s” (a referrer must be in "
                        "the table already or on an earlier row of the file)."
                    )
                    % {"number": number},
                )
        # A referrer whose own row failed fails the rows that name it (chains included).
        failed = True
        while failed:
            failed = False
            for row in rows:
                if row.referrer_row is not None and row.referrer_row.errors and not row.errors:
                    row.error(label, self._failed_referrer(row.referrer_row.number))
                    failed = True

    @staticmethod
    def _failed_referrer(number: int) -> str:
        return _("The referrer's row %(row)s has problems of its own.") % {"row": number}

    def _remember_numbers(self, rows, valid: list[ParsedRow], creates: list[ParsedRow]) -> None:
        """This batch's new customers' numbers for later rows' referrers (an invalid row's as
        minus its row number, so that a row naming it is told which row failed), and the ids
        of the referrers this batch names among them now that they have ids (none in a dry
        run)."""
        if self.file_numbers is None:
            return
        for row in rows:
            if row.errors and row.values.get("member_number"):
                self.file_numbers.setdefault(row.values["member_number"], -row.number)
        for row in creates:
            if "member_number" in row.values:
                self.file_numbers[row.values["member_number"]] = row.customer_id or 0
        for row in valid:
            if row.referrer_row is not None and row.referrer_row.customer_id:
                row.values["referred_by_id"] = row.referrer_row.customer_id

    def _existing(self, rows: list[ParsedRow]) -> dict:
        if not rows:
            return {}
        columns = {
            "id",
            "updated_at",
            "points_balance",
            "lifetime_points",
            "custom_fields",
            "rank_id",
            *SEARCH_INPUTS,
        }
        for row in rows:
            columns.update(row.values)
            if row.referrer:  # resolved after this lookup (`_referrers`)
                columns.add("referred_by_id")
        with self.db_lock:
            found = list(
                Customer.objects.filter(**{f"{self.match_key}__any_of": [row.key for row in rows]})
                .order_by()
                .select_for_update()
                .values(*sorted(columns))
            )
        return {customer[self.match_key]: customer for customer in found}

    def _check_unique(self, rows: list[ParsedRow], existing: dict) -> None:
        """An identifier in a row that belongs to another customer is an error of that row."""
        for name in UNIQUE_FIELDS:
            if name == self.match_key:
                continue
            wanted = {row.values[name] for row in rows if row.values.get(name) is not None}
            if not wanted:
                continue
            with self.db_lock:
                holders = {
                    value: (pk, number)
                    for value, pk, number in Customer.objects.filter(**{f"{name}__any_of": wanted})
                    .order_by()
                    .values_list(name, "id", "member_number")
                }
            for row in rows:
                value = row.values.get(name)
                if value is None or value not in holders:
                    continue
                if holders[value][0] != existing.get(row.key, {}).get("id"):
                    earlier = self._our_row(holders[value][0])
                    if earlier:
                        self._twice(row, name, earlier)
                        continue
                    label = CUSTOMER_FIELDS[name].verbose_name
                    row.error(
                        self._column(name),
                        _("“%(value)s” is already the %(field)s of customer %(member)s.")
                        % {"value": value, "field": label, "member": holders[value][1]},
                    )

    def _check_new(self, row: ParsedRow) -> None:
        for definition in self.definitions.values():
            if definition.required and row.custom.get(definition.key) in (None, ""):
                row.error(
                    definition.label,
                    _("%(field)s is required for a new customer.") % {"field": definition.label},
                )

    def _current_links(self, rows: list[ParsedRow], existing: dict) -> dict[int, set[int]]:
        ids = [existing[row.key]["id"] for row in rows if row.tags and row.key in existing]
        links: dict[int, set[int]] = {}
        if ids:
            with self.db_lock:
                pairs = list(
                    CustomerTag.objects.filter(customer_id__any_of=ids).values_list(
                        "customer_id", "tag_id"
                    )
                )
            for customer_id, tag_id in pairs:
                links.setdefault(customer_id, set()).add(tag_id)
        return links

    def _diff(self, row: ParsedRow, current: dict, links: set[int]) -> None:
        changed = [name for name, value in row.values.items() if current[name] != value]
        if row.custom:
            merged = self._merged_custom(current["custom_fields"], row.custom)
            if merged != (current["custom_fields"] or {}):
                changed.append("custom_fields")
        if row.points is not None and row.points != current["points_balance"]:
            changed.append("points_balance")
        row.tags = [tag for tag in dict.fromkeys(row.tags) if tag not in links]
        if row.tags:
            changed.append("tags")
        row.changed = changed

    @staticmethod
    def _merged_custom(current: dict | None, custom: dict) -> dict:
        merged = dict(current or {})
        for key, value in custom.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def _preview(self, rows: list[ParsedRow]) -> None:
        room = PREVIEW_ROWS - len(self.result.preview)
        for row in rows[: max(room, 0)]:
            values = row.values
            name = " ".join(
                part for part in (values.get("last_name"), values.get("first_name")) if part
            )
            self.result.preview.append(
                {
                    "row": row.number,
                    "outcome": row.outcome,
                    "key": f.text(row.key) if row.key is not None else "",
                    "name": name,
                    "changes": [_label(name) for name in row.changed],
                    "errors": [f"{column}: {message}" for column, message in row.errors],
                }
            )

    # --- the writes ---------------------------------------------------------------------

    def _plan(self, creates: list[ParsedRow], updates: list[tuple[ParsedRow, dict]]) -> "Plan":
        """Every row the batch writes, built in Python before any of it is written."""
        now = timezone.now()
        plan = Plan(batch=ImportBatch(job=self.job, written_at=now))
        batch = plan.batch
        if creates:
            plan.customer_columns, plan.customers = self._new_customers(creates, now, plan)
            batch.created_ids = [row.customer_id for row in creates]
            for row in creates:
                balance = row.points or 0
                if balance:
                    plan.points.append((row.customer_id, balance, balance))
                    batch.points[str(row.customer_id)] = balance
        if updates:
            self._changed_customers(updates, now, plan)
        for links, rows in ((plan.links, creates), (plan.update_links, [r for r, _c in updates])):
            links.extend(
                (row.customer_id, tag_id, CustomerTag.Source.IMPORT, self.actor_pk, now)
                for row in rows
                for tag_id in dict.fromkeys(row.tags)
            )
        plan.points = [
            (cid, delta, PointsTransaction.Reason.IMPORT, after, self.reference, now,
             self.actor_pk)
            for cid, delta, after in plan.points
        ]  # fmt: skip
        plan.rank_changes = [
            rank_change_row(
                cid, old, new, self.rank_names, reason, self.reference, amount, self.actor_pk, now
            )
            for cid, old, new, reason, amount in plan.rank_changes
        ]
        plan.events = [
            (cid, kind, self.actor_pk, message, changes, now)
            for cid, kind, message, changes in plan.events
        ]
        plan.render()
        return plan

    @property
    def actor_pk(self):
        return self.actor.pk if self.actor else None

    def _new_customers(self, rows: list[ParsedRow], now, plan: "Plan"):
        """New customers' rows, ranked as they go in: their only ledger entry is the imported
        points balance, so the Python rules of the rank engine (`decide`) place them exactly as
        the set-based pass would, without a second write of each row."""
        columns = ["id", *CUSTOMER_FIELDS]
        # Every column in order, with the model's defaults; a row's own values go over them.
        defaults = {"id": None}
        defaults.update(
            (name, model_field.get_default()) for name, model_field in CUSTOMER_FIELDS.items()
        )
        records = []
        for row in rows:
            values = {**row.values, "id": row.customer_id, "created_at": now, "updated_at": now}
            values["import_job_id"] = self.job.pk  # the timeline's "Created" entry says so
            values.setdefault("rank_id", self.default_rank_id)
            values.setdefault("joined_at", now)
            values.setdefault("referral_source", Customer.ReferralSource.IMPORT)
            values["custom_fields"] = self._merged_custom({}, row.custom)
            values["points_balance"] = values["lifetime_points"] = row.points or 0
            values["search_text"] = search_text_of(values, row.phone_forms)
            plan.rank_changes.extend(
                (row.customer_id, *change) for change in self._place(values, row, now)
            )
            merged = {**defaults, **values}
            records.append(tuple(merged[name] for name in columns))
        return columns, records

    def _place(self, values: dict, row: ParsedRow, now) -> list[tuple]:
        """Set a new customer's rank by the policy; the history entries it makes."""
        changes = []
        if "rank_id" in row.values:
            changes.append((None, row.values["rank_id"], RankChange.Reason.IMPORT, Decimal(0)))
        if not self.rank_settings.ladder:
            return changes

        points = Decimal(row.points or 0)
        amount = points if self.rank_settings.basis == RankPolicy.Basis.POINTS else Decimal(0)
        decision = rank_engine.decide(
            self.rank_settings,
            rank_id=values["rank_id"],
            amount=amount,
            overridden=False,
            override_expires_at=None,
            grace_until=None,
            now=now,
        )
        if decision.rank_id != values["rank_id"]:
            changes.append((values["rank_id"], decision.rank_id, decision.reason, amount))
        values["rank_id"], values["rank_grace_until"] = decision.rank_id, decision.grace_until
        return changes

    def _member_numbers(self, rows: list[ParsedRow]) -> list[str]:
        numbers = [row.values.get("member_number") or "" for row in rows]
        # Numbers of the last batches may still be on their way to the table: track them here.
        mine = {number for number in numbers if number}
        self.generated.append(mine)
        while True:
            missing = [i for i, number in enumerate(numbers) if not number]
            if not missing:
                return numbers
            candidates = {i: f"M{secrets.randbelow(10**10):010d}" for i in missing}
            with self.db_lock:
                taken = set(
                    Customer.objects.filter(member_number__any_of=candidates.values()).values_list(
                        "member_number", flat=True
                    )
                )
            for i, candidate in candidates.items():
                if candidate not in taken and not any(candidate in s for s in self.generated):
                    numbers[i] = candidate
                    mine.add(candidate)

    def _changed_customers(self, updates, now, plan: "Plan") -> None:
        batch = plan.batch
        columns = sorted(
            {name for row, _c in updates for name in row.values}
            | {"search_text", "updated_at", "custom_fields", "points_balance", "lifetime_points"}
        )
        records = []
        for row, current in updates:
            values = {name: current[name] for name in columns if name in current}
            before = dict(values)
            values.update(row.values)
            values["custom_fields"] = self._merged_custom(current["custom_fields"], row.custom)
            if row.points is not None and row.points != current["points_balance"]:
                delta = row.points - current["points_balance"]
                values["points_balance"] = row.points
                if delta > 0:
                    values["lifetime_points"] = current["lifetime_points"] + delta
                plan.points.append((row.customer_id, delta, row.points))
                batch.points[str(row.customer_id)] = delta
                self.touched.append(row.customer_id)
            search_values = {name: values.get(name, current.get(name)) for name in SEARCH_INPUTS}
            phone_forms = row.phone_forms if "phone" in row.values else None
            if phone_forms is None and search_values["phone"]:
                phone_forms = phone_search_forms(search_values["phone"])
            values["search_text"] = search_text_of(search_values, phone_forms or [])
            values["updated_at"] = now
            if "rank_id" in row.changed:
                plan.rank_changes.append(
                    (
                        row.customer_id,
                        current["rank_id"],
                        values["rank_id"],
                        RankChange.Reason.IMPORT,
                        Decimal(0),
                    )
                )
                self.touched.append(row.customer_id)
            batch.previous[str(row.customer_id)] = {
                name: writer.json_safe(before[name])
                for name in columns
                if name in before and before[name] != values[name] and name not in NOT_RESTORED
            }
            records.append((row.customer_id, *(values[name] for name in columns)))
            changes = {
                _label(name): [_shown(before.get(name)), _shown(values.get(name))]
                for name in row.changed
                if name in values
            }
            if row.tags:
                changes[str(_("Tags"))] = [None, _("added by the import")]
            plan.events.append(
                (
                    row.customer_id,
                    CustomerEvent.Kind.UPDATED,
                    self.job.describe(_("Updated")),
                    changes,
                )
            )
        plan.update_columns, plan.updates = columns, records


def forget_cached_figures() -> None:
    """After customers were written or taken back: the cached member, rank and tag counts."""
    forget_member_figures()
    forget_members_per_rank()
    forget_counts()


def reevaluate_ranks(customer_ids: list[int], *, actor, now) -> dict:
    """The set-based rank engine over these customers only (their ids go into a temporary
    table in a few multi-row INSERTs, and the engine joins it)."""

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS import_touched")
        cursor.execute("CREATE TEMPORARY TABLE import_touched (id bigint PRIMARY KEY)")
        unique = sorted(set(customer_ids))
        if connection.vendor == "postgresql":
            cursor.execute("INSERT INTO import_touched SELECT unnest(%s::bigint[])", [unique])
            # Temporary tables are never analysed by autovacuum; without statistics the
            # planner would aggregate the whole ledger instead of these customers' part.
            cursor.execute("ANALYZE import_touched")
        else:
            for start in range(0, len(unique), 5000):
                chunk = unique[start : start + 5000]
                marks = ", ".join(["(%s)"] * len(chunk))
                cursor.execute(f"INSERT INTO import_touched (id) VALUES {marks}", chunk)  # noqa: S608
    counts = rank_engine.apply_all(
        rank_engine.Settings.current(),
        now=now,
        actor=actor,
        customers_sql=("SELECT id FROM import_touched", []),
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE import_touched")
    return counts


def search_text_of(values: dict, phone_forms) -> str:
    """The search column of a customer written from these values (the undo uses it too)."""
    return build_search_text(
        email=values.get("email"),
        phone=values.get("phone"),
        member_number=values.get("member_number") or "",
        old_member_id=values.get("old_member_id"),
        first_name=values.get("first_name") or "",
        last_name=values.get("last_name") or "",
        phone_forms=phone_forms if phone_forms is not None else None,
    )


def _lookup(objects) -> dict:
    table = {}
    for item in objects:
        table[fold(item.name)] = item
    for item in objects:
        table[fold(item.code)] = item  # a code wins over a name that reads the same
    return table


def _resolve(table: dict, cell, what):
    try:
        return table[fold(f.text(cell))]
    except KeyError:
        raise f.CellError(
            _("There is no %(what)s “%(value)s” (by code or name).")
            % {"what": str(what), "value": f.text(cell)}
        ) from None


def _label(name: str) -> str:
    if name == "tags":
        return str(_("Tags"))
    if name == "custom_fields":
        return str(_("custom fields"))
    field = CUSTOMER_FIELDS.get(name)
    return str(field.verbose_name) if field is not None else name


def _shown(value) -> str | None:
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):
        return ", ".join(f"{key}={val}" for key, val in sorted(value.items()))
    return str(value)


def run_import(job: ImportJob, source: Source, *, actor=None, progress=None) -> Result:
    """Run `job` on `source` and return the outcome (the job row is the caller's to save; the
    error file, if any, is a temporary file the caller removes)."""
    return Importer(job, source, actor=actor, progress=progress).run()
