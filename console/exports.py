"""Customer exports to XLSX and CSV: streamed, flat memory, formula-safe.

One writer serves the web view (small exports at once), the background job (large ones) and
`manage.py export_customers`. XLSX is written by core.xlsx_stream, a streaming writer for
this one shape of sheet: openpyxl's write-only mode and xlsxwriter's constant-memory mode both
missed the export target on this machine (see that module and the README).

CSV files on PostgreSQL are written by the database itself (`COPY … TO STDOUT`), with the same
cells the Python writer produces — choice labels, local times, formula escaping, tags — built
as SQL expressions from the same column definitions; the Python writer measured ~37,000 rows/s,
COPY several hundred thousand. A test holds the two outputs byte-for-byte equal.
"""

import csv
import datetime
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, CharField, F, Func, OuterRef, StringAgg, Subquery, Value, When
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Concat, NullIf
from django.db.models.lookups import Exact, Regex
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cards.exports import export_columns as card_export_columns
from console.tables import ordering_for
from core.xlsx_safety import CSV_RISK, escape_csv
from core.xlsx_stream import XLSX_MAX_ROWS, XlsxStreamWriter
from customers.models import Customer, CustomFieldDefinition
from customers.selectors import customers_matching
from tags.models import CustomerTag

CHUNK = 2000


@dataclass(frozen=True)
class ExportColumn:
    key: str
    label: str
    source: str | None  # a values() path; None for computed columns
    choices: tuple = ()  # (value, label) pairs: the cell shows the label
    expression: Callable | None = None  # an annotation (a subquery), under `source`
    permission: str = ""  # needed to choose the column

    def display(self) -> Callable | None:
        """value -> cell text for a choice column, its (lazy) labels resolved once for the
        export: a gettext per cell cost a quarter of the XLSX writer's time."""
        if not self.choices:
            return None
        labels = {value: str(label) for value, label in self.choices}
        return lambda value: labels.get(value, value or "")


BASE_COLUMNS = [
    ExportColumn("member_number", _("Member number"), "member_number"),
    ExportColumn("old_member_id", _("Old member ID"), "old_member_id"),
    ExportColumn("last_name", _("Last name"), "last_name"),
    ExportColumn("first_name", _("First name"), "first_name"),
    ExportColumn("email", _("Email"), "email"),
    ExportColumn("phone", _("Mobile number"), "phone"),
    ExportColumn("date_of_birth", _("Date of birth"), "date_of_birth"),
    ExportColumn("gender", _("Gender"), "gender", tuple(Customer.Gender.choices)),
    ExportColumn("address", _("Address"), "address"),
    ExportColumn("city", _("City"), "city"),
    ExportColumn("country", _("Country"), "country"),
    ExportColumn("customer_type", _("Type"), "customer_type", tuple(Customer.CustomerType.choices)),
    ExportColumn("status", _("Status"), "status", tuple(Customer.Status.choices)),
    ExportColumn("rank", _("Rank"), "rank__name"),
    ExportColumn("points_balance", _("Points balance"), "points_balance"),
    ExportColumn("lifetime_points", _("Lifetime points"), "lifetime_points"),
    ExportColumn("total_spent", _("Total spent"), "total_spent"),
    ExportColumn("order_count", _("Orders"), "order_count"),
    ExportColumn("last_order_at", _("Last order"), "last_order_at"),
    ExportColumn("preferred_store", _("Preferred store"), "preferred_store__name"),
    ExportColumn(
        "referral_source",
        _("Referral source"),
        "referral_source",
        tuple(Customer.ReferralSource.choices),
    ),
    ExportColumn("joined_at", _("Joined"), "joined_at"),
    ExportColumn("last_access_at", _("Last access"), "last_access_at"),
    ExportColumn("tags", _("Tags"), None),
]
# Columns holding a person's own data: choosing any of them is logged as personal-data access.
PERSONAL_COLUMNS = frozenset(
    {"first_name", "last_name", "email", "phone", "date_of_birth", "address", "card_passport_full"}
)
DEFAULT_EXPORT_COLUMNS = [
    "member_number",
    "last_name",
    "first_name",
    "email",
    "phone",
    "city",
    "rank",
    "status",
    "points_balance",
    "total_spent",
    "joined_at",
]


CARD_COLUMNS = [
    ExportColumn(
        column["key"],
        column["label"],
        column["key"],
        expression=column["expression"],
        permission=column.get("permission", ""),
    )
    for column in card_export_columns()
]


def available_columns(user=None) -> dict[str, ExportColumn]:
    """Every column an export may hold; with a user, only those the user may choose."""
    columns = {column.key: column for column in BASE_COLUMNS}
    for definition in CustomFieldDefinition.objects.filter(is_active=True):
        key = f"cf_{definition.key}"
        columns[key] = ExportColumn(key, definition.label, f"custom_fields__{definition.key}")
    for column in CARD_COLUMNS:
        if user is None or not column.permission or user.has_perm(column.permission):
            columns[column.key] = column
    return columns


def export_column_choices(user=None):
    return [(key, column.label) for key, column in available_columns(user).items()]


def _plain(value):
    """Turn a database value into what a cell holds: str, number, naive local datetime or date."""
    if type(value) is str:  # the common case first
        return value
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value)
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal | datetime.date):
        return value
    return str(value)


def iter_rows(queryset, columns: list[ExportColumn]) -> Iterator[list]:
    """Yield one list of cell values per customer in the queryset's order (by id when it has
    none), reading the database in chunks."""
    paths = ["pk", *[column.source for column in columns if column.source]]
    annotations = {column.source: column.expression() for column in columns if column.expression}
    if annotations:
        queryset = queryset.annotate(**annotations)
    want_tags = any(column.key == "tags" for column in columns)
    displays = [column.display() for column in columns]
    batch: list[tuple] = []
    if not queryset.query.order_by:
        queryset = queryset.order_by("pk")
    rows = queryset.values_list(*paths).iterator(chunk_size=CHUNK)
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            yield from _render_batch(batch, columns, displays, want_tags)
            batch = []
    if batch:
        yield from _render_batch(batch, columns, displays, want_tags)


def _render_batch(batch, columns, displays, want_tags):
    tags: dict[int, list[str]] = {}
    if want_tags:
        for customer_id, name in (
            CustomerTag.objects.filter(customer_id__in=[row[0] for row in batch])
            .order_by("tag__name")
            .values_list("customer_id", "tag__name")
        ):
            tags.setdefault(customer_id, []).append(name)
    for row in batch:
        values = iter(row[1:])
        cells = []
        for column, display in zip(columns, displays, strict=True):
            if column.source is None:
                value = ", ".join(tags.get(row[0], []))
            else:
                value = next(values)
                if display is not None:
                    value = display(value)
            cells.append(_plain(value))
        yield cells


def write_xlsx(path, queryset, columns: list[ExportColumn], progress=None, cut=None) -> int:
    """Write the customers to an XLSX file; continue on a new sheet past Excel's row limit.
    `cut(n)` hears how many text cells were longer than a cell holds (cut with a marker)."""
    with XlsxStreamWriter(
        path,
        [column.label for column in columns],
        str(_("Customers")),
        max_rows=XLSX_MAX_ROWS,  # a module setting, so a test can make a small "Excel"
    ) as workbook:
        for cells in iter_rows(queryset, columns):
            workbook.write_row(cells)
            if progress is not None and workbook.rows_written % CHUNK == 0:
                progress(workbook.rows_written)
    if progress is not None:
        progress(workbook.rows_written)
    if cut is not None and workbook.cells_cut:
        cut(workbook.cells_cut)
    return workbook.rows_written


class _Echo:
    def write(self, value):
        return value


def csv_lines(queryset, columns: list[ExportColumn]) -> Iterator[str]:
    """Yield CSV text (UTF-8 BOM first, so Excel reads the accents) line by line."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield "\ufeff"
    yield writer.writerow([str(column.label) for column in columns])
    for cells in iter_rows(queryset, columns):
        yield writer.writerow([_csv_cell(value) for value in cells])


def _csv_cell(value):
    if isinstance(value, str):
        return escape_csv(value)
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _safe_text(expression):
    """SQL for escape_csv(): a leading apostrophe before formula-like text; '' as NULL."""
    text = Cast(expression, CharField())
    return NullIf(
        Case(
            When(Regex(text, Value(CSV_RISK)), then=Concat(Value("'"), text)),
            default=text,
            output_field=CharField(),
        ),
        Value(""),
    )


def _sql_cell(column: ExportColumn, custom_types: dict[str, str]):
    """The SQL expression of one export cell, matching what the Python writer puts there."""
    if column.source is None:  # tags
        names = (
            CustomerTag.objects.filter(customer=OuterRef("pk"))
            .order_by()
            .values("customer")
            .annotate(names=StringAgg("tag__name", Value(", "), order_by="tag__name"))
            .values("names")
        )
        return _safe_text(Subquery(names))
    if column.expression is not None:
        return _safe_text(column.expression())
    if column.source.startswith("custom_fields__"):
        key = column.source.removeprefix("custom_fields__")
        text = KeyTextTransform(key, "custom_fields")
        if custom_types.get(key) == "boolean":
            return Case(
                When(Exact(text, Value("true")), then=Value("yes")),
                When(Exact(text, Value("false")), then=Value("no")),
                default=Value(None),
                output_field=CharField(),
            )
        return _safe_text(text)
    field = _final_field(column.source)
    path = F(column.source)
    if isinstance(field, models.DateTimeField):
        return Func(
            path, Value("YYYY-MM-DD HH24:MI:SS"), function="to_char", output_field=CharField()
        )
    if isinstance(field, models.DateField):
        return Func(path, Value("YYYY-MM-DD"), function="to_char", output_field=CharField())
    if isinstance(field, models.DecimalField | models.IntegerField):
        return Cast(path, CharField())
    if field.choices:
        return NullIf(
            Case(
                *[
                    When(**{column.source: value}, then=Value(str(label)))
                    for value, label in field.choices
                ],
                default=path,
                output_field=CharField(),
            ),
            Value(""),
        )
    return _safe_text(path)


def _final_field(path: str):
    model = Customer
    parts = path.split("__")
    for part in parts[:-1]:
        model = model._meta.get_field(part).related_model
    return model._meta.get_field(parts[-1])


def copy_csv_sql(queryset, columns: list[ExportColumn]) -> str:
    """The COPY statement that writes the rows of `queryset` as CSV, parameters inlined."""
    custom_types = dict(CustomFieldDefinition.objects.values_list("key", "field_type"))
    cells = {f"c{index}": _sql_cell(column, custom_types) for index, column in enumerate(columns)}
    if not queryset.query.order_by:
        queryset = queryset.order_by("pk")
    rows = queryset.annotate(**cells).values_list(*cells)
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        inlined = cursor.mogrify(sql, params).decode()
    return f"COPY ({inlined}) TO STDOUT WITH (FORMAT csv)"


def _write_csv_copy(path, queryset, columns: list[ExportColumn]) -> int:
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([str(column.label) for column in columns])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL TIME ZONE %s", [settings.TIME_ZONE])
        with open(path, "w", encoding="utf-8", newline="") as handle:
            handle.write("\ufeff" + header.getvalue())
            cursor.cursor.copy_expert(copy_csv_sql(queryset, columns), handle)
            rows = cursor.cursor.rowcount
    return max(rows, 0)


def write_csv(path, queryset, columns: list[ExportColumn], progress=None, cut=None) -> int:
    """Write the customers to a CSV file (a CSV cell has no length limit: nothing is cut)."""
    if connection.vendor == "postgresql":
        rows = _write_csv_copy(path, queryset, columns)
        if progress is not None:
            progress(rows)
        return rows
    return _write_csv_python(path, queryset, columns, progress)


def _write_csv_python(path, queryset, columns: list[ExportColumn], progress=None) -> int:
    rows = 0
    with open(path, "w", encoding="utf-8", newline="") as handle:
        # Line -1 is the BOM and line 0 the header; rows count from 1.
        for rows, line in enumerate(csv_lines(queryset, columns), start=-1):
            handle.write(line)
            if progress is not None and rows > 0 and rows % CHUNK == 0:
                progress(rows)
    rows = max(rows, 0)
    if progress is not None:
        progress(rows)
    return rows


def resolve_columns(keys: list[str], user=None) -> list[ExportColumn]:
    """The columns named by `keys`; with a user, a column the user may not choose is refused
    as if it did not exist."""
    available = available_columns(user)
    unknown = [key for key in keys if key not in available]
    if unknown:
        raise ValueError(f"unknown export columns: {', '.join(unknown)}")
    return [available[key] for key in keys]


WRITERS = {"xlsx": write_xlsx, "csv": write_csv}


def export_queryset(job):
    """The customers an export job covers (its selection, or everything its filter matches), in
    the list's order: the `sort` of its query string, else the list's default."""
    queryset = customers_matching(job.query_string)
    if job.selected_ids:
        queryset = queryset.filter(pk__in=job.selected_ids)
    ordering, _sort = ordering_for(QueryDict(job.query_string).get("sort", ""))
    return queryset.order_by(*ordering)
