"""Reusable reads about customers."""

from contextlib import suppress
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncWeek
from django.forms.models import ModelChoiceIterator
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from core.db import side_query, without_parallel_workers
from core.forms import parse_ids
from customers.filters import CustomerFilterSet, has_value
from customers.models import Customer, CustomerEvent, ExportJob, SavedView
from customers.phone import normalise_phone


def customer_filterset(query_string: str = "", *, data: QueryDict | None = None, like=None):
    """The filter set of a list query string (`like`: one whose rewards and custom fields it
    reuses instead of reading them again)."""
    if data is None:
        data = QueryDict(query_string.lstrip("?"))
    return CustomerFilterSet(data, queryset=Customer.objects.for_list(), like=like)


def filter_errors(filterset) -> list[tuple[str, list[str]]]:
    """An invalid filter's errors as (the criterion's label, its messages)."""
    fields = filterset.form.fields
    return [
        (str(fields[name].label) if name in fields else name, list(errors))
        for name, errors in filterset.errors.items()
    ]


def criteria_in_words(filterset) -> list[tuple[str, str, str]]:
    """A valid filter's criteria that narrow anything: (name, label, value in words)."""
    form = filterset.form
    return [
        (name, str(form.fields[name].label), _shown(form.fields[name], value))
        for name, value in form.cleaned_data.items()
        if name not in ("archived", "rank_preview") and has_value(value)
    ]


def describe_filter(query_string: str, *, like=None) -> str:
    """A list query string in words: "City: Huế; Rank: Gold, Silver" ("" for no criterion,
    the query string itself when it is not a valid filter). `like`: see customer_filterset."""
    filterset = customer_filterset(query_string, like=like)
    if not filterset.is_valid():
        return query_string
    parts = [f"{label}: {shown}" for _name, label, shown in criteria_in_words(filterset)]
    if filterset.form.cleaned_data.get("archived"):
        parts.append(str(_("Archived customers")))
    return "; ".join(parts)


def parameters_of(filterset, name: str) -> list[str]:
    """The query-string parameters a criterion reads (a range's two ends, say)."""
    suffixes = getattr(filterset.form.fields[name].widget, "suffixes", ())
    return [name, *(f"{name}_{suffix}" for suffix in suffixes)]


def _shown(field, value) -> str:
    if isinstance(value, slice):
        start, stop = (_shown(field, part) for part in (value.start, value.stop))
        if value.start is not None and value.stop is not None:
            return _("%(start)s to %(stop)s") % {"start": start, "stop": stop}
        if value.start is not None:
            return _("from %(start)s") % {"start": start}
        return _("until %(stop)s") % {"stop": stop}
    if isinstance(value, bool):
        return str(_("yes") if value else _("no"))
    if isinstance(value, datetime):
        return (
            timezone.localtime(value).strftime("%Y-%m-%d")
            if timezone.is_aware(value)
            else (value.strftime("%Y-%m-%d"))
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, QuerySet):  # chosen rows (ranks, tags, stores): their own names
        return ", ".join(str(item) for item in value)
    if isinstance(value, list | tuple):
        return ", ".join(_shown(field, item) for item in value)
    choices = getattr(field, "choices", None)
    # A model field's choices would be read from the database again: its values came above.
    labels = {} if choices is None or isinstance(choices, ModelChoiceIterator) else dict(choices)
    return str(labels.get(value, labels.get(str(value), value)))


def customers_matching(query_string: str):
    """The customers a list query string selects; raise ValidationError if it is invalid."""
    filterset = customer_filterset(query_string)
    if not filterset.is_valid():
        raise ValidationError(
            "; ".join(f"{label}: {' '.join(errors)}" for label, errors in filter_errors(filterset))
        )
    return filterset.qs


def bulk_target(data) -> tuple[str, list[int], object]:
    """The customers a bulk action covers, from its POST data: the ticked rows ("ids") or all
    matching the list's filter ("scope=all"). Returns (query, ids, queryset)."""
    query = data.get("query", "")
    if data.get("scope") == "all":
        return query, [], customers_matching(query)
    ids = parse_ids(data.getlist("ids"))
    if not ids:
        raise ValidationError(_("Select at least one customer, or choose all matching."))
    return query, ids, customers_matching(query).filter(pk__in=ids)


def estimated_customer_total() -> int | None:
    """The planner's row estimate for the whole customer table (PostgreSQL), without COUNT(*)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
            [Customer._meta.db_table],
        )
        row = cursor.fetchone()
    return max(int(row[0]), 0) if row and row[0] is not None and row[0] >= 0 else None


def _capped(queryset, cap: int):
    return queryset.order_by().values("pk")[: cap + 1]


def capped_count(queryset, cap: int) -> tuple[int, bool]:
    """Count at most `cap` + 1 rows; return (count, more_than_cap)."""
    counted = _capped(queryset, cap).count()
    return min(counted, cap), counted > cap


def _needs_count(filterset) -> bool:
    return filterset.is_filtered or bool(filterset.form.cleaned_data.get("archived"))


def start_count(filterset, cap: int):
    """Start the list's capped count on a side connection (core.db.side_query) while
    the page reads its rows and builds its HTML; None when it is not needed or must run on the
    page's own connection. The queryset is built here, on the request's thread: the side thread
    only runs it. Not for a search by identifier, whose first page nearly always holds every
    match (so the page is the count): counting beside it would only compete with it."""
    if not _needs_count(filterset) or filterset.names_customers:
        return None
    return side_query(_capped(filterset.qs, cap).count)


def result_count(filterset, cap: int, page=None, counting=None) -> dict:
    """What the list header says about the number of results, honestly and cheaply.

    A first page that holds every result is the count (no query: a search for one phone number
    costs one index scan, not two; a count already started is left to finish unread). An
    unfiltered list on PostgreSQL uses the planner's estimate ("about 1,000,000"); anything
    else counts up to `cap` rows — on the side connection `counting` when `start_count` could
    start one, else here without parallel workers, as the page — and says "1,000+" beyond that.
    """
    if page is not None and page.complete:
        return {"count": len(page.rows), "approximate": False, "capped": False}
    if not _needs_count(filterset):
        estimate = estimated_customer_total()
        if estimate is not None and estimate > cap:
            return {"count": estimate, "approximate": True, "capped": False}
    if counting is not None:
        counted = counting.result()
    else:
        with without_parallel_workers():
            counted = _capped(filterset.qs, cap).count()
    return {"count": min(counted, cap), "approximate": False, "capped": counted > cap}


def customer_detail(pk: int) -> Customer:
    return Customer.objects.select_related(
        "rank", "preferred_store", "referred_by", "import_job__created_by"
    ).get(pk=pk)


FIGURES_KEY = "customers:figures"
FIGURES_SECONDS = 300


def member_figures() -> dict:
    """Joins this week and per week over half a year, cached so a page view never scans the
    customer table (`forget_member_figures` after a change that adds many members)."""
    return cache.get_or_set(FIGURES_KEY, _compute_member_figures, FIGURES_SECONDS)


def forget_member_figures() -> None:
    cache.delete(FIGURES_KEY)


def _compute_member_figures() -> dict:
    now = timezone.now()
    live = Customer.objects.live()
    week_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start -= timedelta(days=week_start.weekday())
    since = week_start - timedelta(weeks=26)
    weekly = dict(
        live.filter(joined_at__gte=since)
        .annotate(week=TruncWeek("joined_at"))
        .order_by()
        .values_list("week")
        .annotate(n=Count("pk"))
    )
    weeks = [since + timedelta(weeks=i) for i in range(27)]
    weekly_by_date = {timezone.localtime(week).date(): n for week, n in weekly.items()}
    return {
        "new_this_week": live.filter(joined_at__gte=week_start).count(),
        "computed_at": now,
        "signup_chart": {
            "labels": [week.strftime("%Y-%m-%d") for week in weeks],
            "values": [weekly_by_date.get(week.date(), 0) for week in weeks],
        },
    }


def recent_activity(limit: int = 12):
    return CustomerEvent.objects.select_related("customer", "actor")[:limit]


def saved_views_for(user):
    return SavedView.objects.filter(Q(owner=user) | Q(is_shared=True)).select_related("owner")


def exports_for(user):
    return ExportJob.objects.filter(created_by=user)


IDENTIFIER_FIELDS = ("member_number", "email", "phone", "old_member_id")


def _identifier_forms(value: str) -> dict[str, str]:
    """The stored form of `value` as each identifier: emails are kept lower-case, phones in
    E.164 (a value that is no phone number is not looked up as one)."""
    value = value.strip()
    forms = {"member_number": value, "old_member_id": value, "email": value.lower()}
    if any(ch.isdigit() for ch in value):
        with suppress(ValidationError):
            forms["phone"] = normalise_phone(value)
    return forms


def ids_by_identifier(values: list[str]) -> dict[str, int]:
    """The customer each value names — a member number, email, mobile number or old member ID
    — as {value: customer id}; values that name no one are left out. One query per field for
    the whole batch, each on that field's unique index."""
    wanted: dict[str, dict[str, list[str]]] = {field: {} for field in IDENTIFIER_FIELDS}
    for value in values:
        for field, form in _identifier_forms(value).items():
            if form:
                wanted[field].setdefault(form, []).append(value)
    found: dict[str, int] = {}
    for field in IDENTIFIER_FIELDS:
        if not wanted[field]:
            continue
        rows = Customer.objects.filter(**{f"{field}__in": list(wanted[field])}).values_list(
            field, "pk"
        )
        for stored, pk in rows:
            for value in wanted[field][stored]:
                found.setdefault(value, pk)
    return found


def find_customer(identifier: str) -> Customer | None:
    """The customer a member number, email, mobile number or old member ID names."""
    pk = ids_by_identifier([identifier]).get(identifier) if identifier.strip() else None
    return customer_detail(pk) if pk else None
