"""The customer list table. Columns can be hidden per user (customers.ListPreference)."""

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

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

    def render_status(self, record):
        css = {
            "active": "text-bg-success",
            "inactive": "text-bg-secondary",
            "blocked": "text-bg-danger",
        }
        return format_html(
            '<span class="badge {}">{}</span>', css[record.status], record.get_status_display()
        )

    def render_total_spent(self, value):
        return f"{value:,.0f}"

    def render_points_balance(self, value):
        return f"{value:,}"

    def render_tags(self, record):
        return format_html_join(
            " ",
            '<span class="badge swatch-{}">{}</span>',
            ((link.tag.colour, link.tag.name) for link in record.tag_links.all()),
        )


CHOOSABLE_COLUMNS = tuple(name for name in CustomerTable.Meta.sequence if name != "selection")


def column_choices():
    table_columns = CustomerTable.base_columns
    return [(name, table_columns[name].verbose_name or name) for name in CHOOSABLE_COLUMNS]
