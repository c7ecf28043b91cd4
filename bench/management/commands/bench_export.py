"""One export writer over the first N customers, in its own process so its peak memory is its
own. Prints one JSON line: rows, seconds, rows per second, peak RSS. Used by `manage.py bench`.
"""

import json
import resource
import time

from django.core.management.base import BaseCommand
from django.db import connection
from import_export import fields, resources

from console.exports import resolve_columns, write_csv, write_xlsx
from customers.models import Customer

COLUMNS = [
    "member_number", "old_member_id", "last_name", "first_name", "email", "phone",
    "date_of_birth", "gender", "city", "status", "rank", "points_balance", "total_spent",
    "preferred_store", "joined_at",
]  # fmt: skip


def _peak_rss_mb() -> float:
    """This process's own peak RSS. (ru_maxrss survives exec on Linux, so a child started by a
    big parent would report the parent's size; VmHWM belongs to the new address space.)"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeerCustomerResource(resources.ModelResource):
    """django-import-export's declarative export of the same 15 columns, as documented."""

    rank = fields.Field(attribute="rank__name", column_name="rank")
    preferred_store = fields.Field(attribute="preferred_store__name", column_name="store")

    class Meta:
        model = Customer
        fields = COLUMNS


def _copy_csv(path, rows):
    columns = ", ".join(f"c.{name}" for name in COLUMNS if name not in {"rank", "preferred_store"})
    sql = (
        f"COPY (SELECT {columns}, r.name, s.name FROM customers_customer c"  # noqa: S608
        " LEFT JOIN ranks_rank r ON r.id = c.rank_id"
        " LEFT JOIN customers_store s ON s.id = c.preferred_store_id"
        f" WHERE c.id <= {int(rows)} ORDER BY c.id) TO STDOUT WITH (FORMAT csv, HEADER)"
    )
    with connection.cursor() as cursor, open(path, "w", encoding="utf-8") as handle:
        cursor.cursor.copy_expert(sql, handle)
    return rows


def _peer_xlsx(path, queryset):
    dataset = PeerCustomerResource().export(queryset=queryset.select_related("rank"))
    with open(path, "wb") as handle:
        handle.write(dataset.export("xlsx"))
    return len(dataset)


class Command(BaseCommand):
    help = "Benchmark helper: run one export writer and print its rate and peak memory."

    def add_arguments(self, parser):
        parser.add_argument("writer", choices=["ours-xlsx", "ours-csv", "peer-xlsx", "copy-csv"])
        parser.add_argument("rows", type=int)
        parser.add_argument("output")

    def handle(self, *args, writer, rows, output, **options):
        queryset = Customer.objects.filter(pk__lte=rows)
        columns = resolve_columns(COLUMNS)
        suffix = "xlsx" if writer.endswith("xlsx") else "csv"
        path = f"{output}.{suffix}"
        started = time.perf_counter()
        if writer == "ours-xlsx":
            written = write_xlsx(path, queryset, columns)
        elif writer == "ours-csv":
            written = write_csv(path, queryset, columns)
        elif writer == "peer-xlsx":
            written = _peer_xlsx(path, queryset)
        else:
            written = _copy_csv(path, rows)
        seconds = time.perf_counter() - started
        peak_mb = _peak_rss_mb()
        self.stdout.write(
            json.dumps(
                {
                    "writer": writer,
                    "rows": written,
                    "seconds": round(seconds, 2),
                    "rows_per_s": round(written / seconds) if seconds else None,
                    "peak_rss_mb": round(peak_mb),
                    "file": path,
                }
            )
        )
