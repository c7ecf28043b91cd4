"""The customer list's results: its rows, its count and its paging links, read beside the page."""

from functools import cached_property

from django.conf import settings
from django.db.models import Prefetch, prefetch_related_objects

from console.exports import (
    DEFAULT_EXPORT_COLUMNS,
    available_columns,
)
from console.tables import (
    CHOOSABLE_COLUMNS,
    DEFAULT_COLUMNS,
)
from core.db import side_query, without_parallel_workers
from customers import selectors
from customers.models import (
    ListPreference,
)
from tags.models import CustomerTag

PAGE_PARAMS = ("page", "after", "before")


PER_PAGE = 50


def _query_without_page(request, *extra: str) -> str:
    query = request.GET.copy()
    for name in (*PAGE_PARAMS, *extra):
        query.pop(name, None)
    return query.urlencode()


# The list's columns that are not export columns of the same name.
_LIST_TO_EXPORT = {"name": ["last_name", "first_name"]}


def export_columns_of(list_columns: list[str]) -> list[str]:
    """The export columns for the list's chosen ones, in their order."""
    available = available_columns()
    keys = [key for column in list_columns for key in _LIST_TO_EXPORT.get(column, [column])]
    return [key for key in keys if key in available] or list(DEFAULT_EXPORT_COLUMNS)


def chosen_columns(user) -> list[str]:
    preference = ListPreference.objects.filter(user=user).first()
    columns = [c for c in (preference.columns if preference else []) if c in CHOOSABLE_COLUMNS]
    return columns or list(DEFAULT_COLUMNS)


class ListResults:
    """A list page's rows and its number of results, read beside the rest of the page.

    Building the page's HTML above its results (header, sidebar, the filter panel's thirty
    fields) is Python that does not need the rows, and reading the rows is a wait on the
    database that does not need Python. So the rows' query starts on a side connection
    (`core.db.side_query`) when the view builds its context, as the count does, and
    the template reads them where the results begin, so finding a tag or reward filter's rows
    overlaps the panel's rendering.
    Where no side connection can take the query (SQLite, inside a transaction, side queries
    turned off) the rows are read at that point on the request's own connection.
    """

    def __init__(self, view, filterset, ordering, base):
        self._view, self._filterset, self._ordering, self._base = view, filterset, ordering, base
        self._table, self._columns = None, []
        self._cap = settings.LIST_COUNT_CAP
        # The rows first: with a single side connection, the count waits for them.
        self._reading = side_query(view.read_page, ordering)
        self._counting = selectors.start_count(filterset, self._cap)

    def show(self, table, columns: list[str]) -> None:
        """How the rows become HTML: `table`'s cells for `columns` (read once the rows are)."""
        self._table, self._columns = table, columns

    @cached_property
    def _read(self) -> tuple:
        if self._reading is not None:
            return self._reading.result()
        with without_parallel_workers():
            return self._view.read_page(self._ordering)

    @property
    def page(self):
        return self._read[0]

    @property
    def cursor_error(self) -> str:
        return self._read[1]

    @cached_property
    def count(self) -> dict:
        """What the header says about the number of results (selectors.result_count)."""
        return selectors.result_count(
            self._filterset, self._cap, page=self.page, counting=self._counting
        )

    @cached_property
    def rows(self) -> list[str]:
        rows = self.page.rows
        if "tags" in self._columns:
            prefetch_related_objects(
                rows, Prefetch("tag_links", queryset=CustomerTag.objects.select_related("tag"))
            )
        return self._table.rows_html(rows, self._columns)

    @property
    def next_url(self) -> str | None:
        cursor, base = self.page.next_cursor, self._base
        return cursor and f"?{base}{'&' if base else ''}after={cursor}"

    @property
    def previous_url(self) -> str | None:
        cursor, base = self.page.previous_cursor, self._base
        return cursor and f"?{base}{'&' if base else ''}before={cursor}"
