"""A customer's own data in one workbook, for a data-subject access request: a sheet per kind
of record the app stores about them. Every cell is written as text or a number, never a
formula (xlsxwriter with formula and URL conversion off)."""

import io
from collections.abc import Callable

import xlsxwriter
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _

from audiences.models import AudienceMember
from cards.models import TouristCard
from customers.models import (
    Customer,
    CustomerEvent,
    CustomerTask,
    CustomFieldDefinition,
    MarketingConsent,
    Order,
    PointsTransaction,
    RewardRedemption,
)
from ranks.models import RankChange
from tags.models import CustomerTag
from wholesale.models import WholesaleApplication

PROFILE_FIELDS = (
    "member_number",
    "old_member_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "gender",
    "address",
    "city",
    "country",
    "customer_type",
    "status",
    "rank",
    "points_balance",
    "lifetime_points",
    "total_spent",
    "order_count",
    "last_order_at",
    "preferred_store",
    "referral_source",
    "joined_at",
    "last_access_at",
)


def _cell(value):
    if value is None:
        return ""
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float):
        return value
    return str(value)


def _display(instance: Model, name: str):
    """A field's value as the pages show it: the label of a choice, the name of a relation."""
    field = instance._meta.get_field(name)
    if field.choices:
        return getattr(instance, f"get_{name}_display")()
    return getattr(instance, name)


def _profile(customer: Customer) -> list[tuple[str, object]]:
    rows = [
        (str(Customer._meta.get_field(name).verbose_name).capitalize(), _display(customer, name))
        for name in PROFILE_FIELDS
    ]
    labels = dict(CustomFieldDefinition.objects.values_list("key", "label"))
    for key, value in sorted((customer.custom_fields or {}).items()):
        rows.append((labels.get(key, key), value))
    return rows


Column = tuple[str, Callable]


def _sections(customer: Customer) -> list[tuple[str, list[Column], object]]:
    """(sheet title, columns, rows) for every relation of the customer."""
    return [
        (
            _("Orders"),
            [
                (_("Number"), lambda o: o.number),
                (_("Placed"), lambda o: o.placed_at),
                (_("Store"), lambda o: o.store),
                (_("Status"), lambda o: o.get_status_display()),
                (_("Total"), lambda o: o.total),
            ],
            Order.objects.filter(customer=customer).select_related("store").order_by("placed_at"),
        ),
        (
            _("Points ledger"),
            [
                (_("At"), lambda p: p.created_at),
                (_("Points"), lambda p: p.delta),
                (_("Balance after"), lambda p: p.balance_after),
                (_("Reason"), lambda p: p.get_reason_display()),
                (_("Reference"), lambda p: p.reference),
            ],
            PointsTransaction.objects.filter(customer=customer).order_by("created_at", "pk"),
        ),
        (
            _("Redemptions"),
            [
                (_("At"), lambda r: r.redeemed_at),
                (_("Reward"), lambda r: r.reward),
                (_("Store"), lambda r: r.store),
                (_("Points spent"), lambda r: r.points_spent),
            ],
            RewardRedemption.objects.filter(customer=customer)
            .select_related("reward", "store")
            .order_by("redeemed_at"),
        ),
        (
            _("Tasks"),
            [
                (_("Task"), lambda t: t.name),
                (_("Status"), lambda t: t.get_status_display()),
                (_("Progress"), lambda t: t.progress),
                (_("Points awarded"), lambda t: t.points_awarded),
                (_("Started"), lambda t: t.started_at),
                (_("Completed"), lambda t: t.completed_at),
            ],
            CustomerTask.objects.filter(customer=customer).order_by("pk"),
        ),
        (
            _("Tags"),
            [
                (_("Tag"), lambda t: t.tag.name),
                (_("Given by"), lambda t: t.get_source_display()),
                (_("At"), lambda t: t.assigned_at),
            ],
            CustomerTag.objects.filter(customer=customer).select_related("tag").order_by("pk"),
        ),
        (
            _("Rank history"),
            [
                (_("At"), lambda r: r.created_at),
                (_("From"), lambda r: r.from_name),
                (_("To"), lambda r: r.to_name),
                (_("Reason"), lambda r: r.get_reason_display()),
            ],
            RankChange.objects.filter(customer=customer).order_by("created_at", "pk"),
        ),
        (
            _("Audiences"),
            [
                (_("Audience"), lambda m: m.audience.name),
                (_("Added how"), lambda m: m.get_source_display()),
                (_("Added at"), lambda m: m.added_at),
            ],
            AudienceMember.objects.filter(customer=customer)
            .select_related("audience")
            .order_by("added_at"),
        ),
        (
            _("Wholesale applications"),
            [
                (_("Reference"), lambda a: a.reference),
                (_("Status"), lambda a: a.get_status_display()),
                (_("Business"), lambda a: a.business_name),
                (_("Tax ID"), lambda a: a.tax_id),
                (_("Submitted"), lambda a: a.submitted_at),
            ],
            WholesaleApplication.objects.filter(customer=customer).order_by("submitted_at"),
        ),
        (
            _("Tourist cards"),
            [
                (_("Card"), lambda c: c.number),
                (_("Status"), lambda c: c.get_status_display()),
                (_("Passport"), lambda c: c.passport_number),
                (_("Nationality"), lambda c: c.nationality.name if c.nationality else ""),
                (_("Name in the passport"), lambda c: c.full_name),
                (_("Arrival"), lambda c: c.arrival),
                (_("Departure"), lambda c: c.departure),
                (_("Valid until"), lambda c: c.valid_until),
            ],
            TouristCard.objects.filter(customer=customer).order_by("activated_at", "pk"),
        ),
        (
            _("Marketing consent"),
            [
                (_("Channel"), lambda c: c.get_channel_display()),
                (_("Agreed"), lambda c: c.granted),
                (_("At"), lambda c: c.changed_at),
                (_("From"), lambda c: c.get_source_display()),
            ],
            MarketingConsent.objects.filter(customer=customer).order_by("channel"),
        ),
        (
            _("Timeline"),
            [
                (_("At"), lambda e: e.created_at),
                (_("What"), lambda e: e.get_kind_display()),
                (_("Detail"), lambda e: e.message),
                (_("Changes"), lambda e: "; ".join(f"{k}: {v}" for k, v in e.changes.items())),
            ],
            CustomerEvent.objects.filter(customer=customer).order_by("created_at", "pk"),
        ),
    ]


def subject_access_workbook(customer: Customer) -> bytes:
    """The workbook: a Profile sheet (field, value), then one sheet per relation."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    bold = book.add_format({"bold": True})
    sheet = book.add_worksheet(_("Profile")[:31])
    sheet.write_row(0, 0, [_("Field"), _("Value")], bold)
    for index, (label, value) in enumerate(_profile(customer), start=1):
        sheet.write_row(index, 0, [label, _cell(value)])
    for title, columns, rows in _sections(customer):
        sheet = book.add_worksheet(str(title)[:31])
        sheet.write_row(0, 0, [str(label) for label, _get in columns], bold)
        for index, row in enumerate(rows, start=1):
            sheet.write_row(index, 0, [_cell(get(row)) for _label, get in columns])
    book.close()
    return out.getvalue()
