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

The parts: `migration.rows` (a parsed row, the outcome, which fields an import writes),
`migration.parsing`, `migration.matching` and `migration.planning` (the `Importer`'s steps,
mixins over its one per-run state), `migration.pipeline` (the writer thread) and
`migration.report` (error file, progress). Tags, member numbers and rank re-evaluation are the
owning apps' services (`tags.services`, `customers.services`, `ranks.services`).
"""

import logging
import threading
from array import array
from collections import deque
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.files import Source
from customers.models import (
    CustomFieldDefinition,
    Store,
)
from customers.search_text import name_key
from customers.selectors import forget_member_figures
from migration.matching import Matching
from migration.models import ImportJob, Policy
from migration.parsing import RowParsing
from migration.pipeline import Pipeline, cause_first
from migration.planning import Planning
from migration.report import ErrorFile, Progress
from migration.rows import WINDOW, Result, lookup_table
from ranks.engine import Settings
from ranks.models import Rank
from ranks.selectors import default_rank, forget_members_per_rank
from ranks.services import reevaluate_customers
from tags.models import Tag
from tags.services import forget_counts

logger = logging.getLogger("loyalty.imports")


class _Rollback(Exception):
    pass


class Importer(RowParsing, Matching, Planning):
    """One run of a file: reads it in batches, parses, matches, plans and hands each batch's
    writes to the pipeline. Its parts are mixins over one shared state (`__init__`)."""

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
        self.ranks = lookup_table(Rank.objects.all())
        self.rank_names = dict(Rank.objects.values_list("pk", "name"))
        self.stores = lookup_table(Store.objects.all())
        self.tags = {name_key(tag.name): tag for tag in Tag.objects.all()}
        self.created_tags: list[int] = []
        self.generated: deque[set] = deque(maxlen=WINDOW)  # member numbers not yet written
        self.db_lock = threading.RLock()  # the pipeline's, while a run is on

        default = default_rank()
        self.default_rank_id = default.pk if default else None

        self.rank_settings = Settings.current()
        self.reference = job.reference

    def run(self) -> Result:
        rows = self.source.rows()
        size = settings.IMPORT_BATCH_SIZE
        total = self.job.total_rows
        try:
            try:
                with transaction.atomic(), Pipeline() as pipeline, cause_first(pipeline):
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
            reevaluate_customers(self.touched, actor=self.actor, now=self.now)
        if self.created_tags:
            self.job.created_tag_ids = self.created_tags


def forget_cached_figures() -> None:
    """After customers were written or taken back: the cached member, rank and tag counts."""
    forget_member_figures()
    forget_members_per_rank()
    forget_counts()


def run_import(job: ImportJob, source: Source, *, actor=None, progress=None) -> Result:
    """Run `job` on `source` and return the outcome (the job row is the caller's to save; the
    error file, if any, is a temporary file the caller removes)."""
    return Importer(job, source, actor=actor, progress=progress).run()
