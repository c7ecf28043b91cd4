"""The customer list table. Columns can be hidden per user (customers.ListPreference).

django-tables2 declares the columns (names, headers, which are sortable, the render methods).
The rows of a page are rendered by `CustomerTable.cells`, which calls the same render methods
directly: django-tables2's generic per-cell machinery cost more than the whole page budget
(`make bench`).
"""

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from core.html import conditional_escape, escape
from core.money import money
from customers.models import Customer
from customers.phone import format_phone

DEFAULT_COLUMNS = (
    "member_number",
    "name",
    "email",
    "phone",
    "rank",
    "city",
    "status",
    "points_balance",
    "total_spent",
    "joined_at",
)


class CustomerTable(tables.Table):
    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {
                "class": "form-check-input",
                "data-select-all": "",
                "aria-label": _("Select all on this page"),
            },
            "td__input": {
                "class": "form-check-input",
                "form": "bulk-form",
                "name": "ids",
                "aria-label": _("Select"),
            },
        },
        orderable=False,
        exclude_from_export=True,
    )
    member_number = tables.Column(linkify=True, verbose_name=_("Member no."))
    name = tables.Column(
        accessor="full_name", order_by=("last_name", "first_name"), verbose_name=_("Name")
    )
    email = tables.Column()
    phone = tables.Column()
    rank = tables.Column(order_by=("rank__level",))
    city = tables.Column()
    status = tables.Column()
    customer_type = tables.Column(verbose_name=_("Type"))
    points_balance = tables.Column(verbose_name=_("Points"), attrs={"td": {"class": "text-end"}})
    total_spent = tables.Column(verbose_name=_("Spent"), attrs={"td": {"class": "text-end"}})
    order_count = tables.Column(verbose_name=_("Orders"), attrs={"td": {"class": "text-end"}})
    preferred_store = tables.Column(verbose_name=_("Store"))
    referral_source = tables.Column(verbose_name=_("Referral"))
    old_member_id = tables.Column(verbose_name=_("Old member ID"))
    tags = tables.Column(accessor="pk", verbose_name=_("Tags"), orderable=False)
    joined_at = tables.DateColumn(format="Y-m-d", verbose_name=_("Joined"))
    last_access_at = tables.DateTimeColumn(format="Y-m-d H:i", verbose_name=_("Last access"))

    class Meta:
        model = Customer
        fields = ()
        sequence = (
            "selection",
            "member_number",
            "name",
            "email",
            "phone",
            "rank",
            "city",
            "status",
            "customer_type",
            "points_balance",
            "total_spent",
            "order_count",
            "preferred_store",
            "referral_source",
            "old_member_id",
            "tags",
            "joined_at",
            "last_access_at",
        )
        order_by_field = "sort"
        empty_text = _("No customers match these filters.")
        attrs = {"class": "table table-hover table-sm align-middle customer-table"}

    def render_name(self, record):
        if record.is_anonymised:
            return format_html('<span class="text-body-secondary">{}</span>', _("Anonymised"))
        return record.full_name or "—"

    def render_phone(self, value):
        return format_phone(value)

    def render_rank(self, record):
        rank = record.rank
        marker = " *" if record.rank_overridden else ""
        return format_html(
            '<span class="badge swatch-{}" title="{}">{}{}</span>',
            rank.colour,
            _("Set manually") if marker else "",
            rank.name,
            marker,
        )

    def render_total_spent(self, value):
        return money(value)

    def render_points_balance(self, value):
        return f"{value:,}"

    def render_tags(self, record):
        return format_html_join(
            " ",
            '<span class="badge swatch-{}">{}</span>',
            ((link.tag.colour, link.tag.name) for link in record.tag_links.all()),
        )

    # --- Fast rendering of a page of rows -------------------------------------------------

    def rows_html(self, records, column_names: list[str]) -> list[str]:
        """The `<td>` cells of each record, in `column_names` order, as one safe string.

        Whatever is the same for many rows (badges of a rank or status, labels) is built once
        per page; every value from the record is escaped.
        """
        detail_prefix = reverse("customers:detail", args=[0])[: -len("0/")]
        self._page_cache = {
            "prefix": detail_prefix,
            "select": escape(str(_("Select"))),
            "status": {value: self.render_status_value(value) for value in Customer.Status},
            "rank": {},
        }
        render = {name: getattr(self, f"_cell_{name}", None) for name in column_names}
        opening = {
            name: f'<td class="col-{name}{" text-end" if name in NUMERIC_COLUMNS else ""}">'
            for name in column_names
        }
        rows = []
        for record in records:
            cells = []
            for name in column_names:
                method = render[name]
                if method is not None:
                    html = method(record)
                else:
                    value = getattr(record, name)
                    html = escape(value) if value not in (None, "") else EMPTY
                cells.append(f"{opening[name]}{html}</td>")
            rows.append(mark_safe("".join(cells)))  # noqa: S308 - every cell escaped above
        return rows

    def render_status_value(self, status: str) -> str:
        css = {
            "active": "text-bg-success",
            "inactive": "text-bg-secondary",
            "blocked": "text-bg-danger",
        }
        return format_html(
            '<span class="badge {}">{}</span>', css[status], Customer.Status(status).label
        )

    def _cell_selection(self, record):
        return (
            f'<input type="checkbox" class="form-check-input" form="bulk-form" name="ids" '
            f'value="{record.pk}" aria-label="{self._page_cache["select"]}">'
        )

    def _cell_member_number(self, record):
        return (
            f'<a href="{self._page_cache["prefix"]}{record.pk}/">{escape(record.member_number)}</a>'
        )

    def _cell_name(self, record):
        return conditional_escape(self.render_name(record))  # the anonymised label is safe

    def _cell_email(self, record):
        if not record.email:
            return EMPTY
        email = escape(record.email)
        return f'<span title="{email}">{email}</span>'  # cut to the column's width by CSS

    def _cell_phone(self, record):
        return escape(self.render_phone(record.phone)) if record.phone else EMPTY

    def _cell_rank(self, record):
        if not record.rank_id:
            return EMPTY
        key = (record.rank_id, record.rank_overridden)
        badges = self._page_cache["rank"]
        if key not in badges:
            badges[key] = self.render_rank(record)
        return badges[key]

    def _cell_status(self, record):
        return self._page_cache["status"][record.status]

    def _cell_customer_type(self, record):
        return escape(record.get_customer_type_display())

    def _cell_points_balance(self, record):
        return self.render_points_balance(record.points_balance)

    def _cell_total_spent(self, record):
        return self.render_total_spent(record.total_spent)

    def _cell_order_count(self, record):
        return f"{record.order_count:,}"

    def _cell_preferred_store(self, record):
        store = record.preferred_store
        return escape(store.name) if store else EMPTY

    def _cell_referral_source(self, record):
        return escape(record.get_referral_source_display()) or EMPTY

    def _cell_tags(self, record):
        return self.render_tags(record) or EMPTY

    def _cell_joined_at(self, record):
        return timezone.localtime(record.joined_at).strftime("%Y-%m-%d")

    def _cell_last_access_at(self, record):
        value = record.last_access_at
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else EMPTY


EMPTY = mark_safe("—")
NUMERIC_COLUMNS = frozenset({"points_balance", "total_spent", "order_count"})

# What each sortable column orders by; the list appends the primary key to make it total.
SORTS = {
    "member_number": ["member_number"],
    "name": ["last_name", "first_name"],
    "email": ["email"],
    "phone": ["phone"],
    "rank": ["rank__level"],
    "city": ["city"],
    "status": ["status"],
    "customer_type": ["customer_type"],
    "points_balance": ["points_balance"],
    "total_spent": ["total_spent"],
    "order_count": ["order_count"],
    "preferred_store": ["preferred_store__name"],
    "referral_source": ["referral_source"],
    "old_member_id": ["old_member_id"],
    "joined_at": ["joined_at"],
    "last_access_at": ["last_access_at"],
}
DEFAULT_ORDERING = ["-joined_at", "-id"]


def ordering_for(sort: str) -> tuple[list[str], str]:
    """The ORM ordering for a `sort` parameter ("total_spent", "-name"); unknown → default."""
    name = (sort or "").lstrip("-")
    if name not in SORTS:
        return DEFAULT_ORDERING, ""
    prefix = "-" if sort.startswith("-") else ""
    return [f"{prefix}{path}" for path in SORTS[name]] + [f"{prefix}id"], sort


CHOOSABLE_COLUMNS = tuple(name for name in CustomerTable.Meta.sequence if name != "selection")


def column_choices():
    table_columns = CustomerTable.base_columns
    return [(name, table_columns[name].verbose_name or name) for name in CHOOSABLE_COLUMNS]
