"""A file row as the import reads it (`ParsedRow`), the run's outcome (`Result`), the rules about
which customer fields an import writes, and the small lookups the row parsing uses."""

import logging
from dataclasses import dataclass, field
from pathlib import Path

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import (
    Customer,
)
from customers.search_text import build_search_text, fold
from migration import fields as f

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
# Keys of ImportBatch.previous that hold a channel's consent before the import (None: none).
CONSENT_PREFIX = "consent:"
NOT_RESTORED = ("updated_at", "points_balance", "lifetime_points", "search_text")


RANK, STORE = gettext_lazy("rank"), gettext_lazy("store")


CUSTOMER_FIELDS = {
    field.attname: field for field in Customer._meta.concrete_fields if not field.primary_key
}


@dataclass
class ParsedRow:
    number: int
    cells: list
    values: dict = field(default_factory=dict)  # model attname → value
    custom: dict = field(default_factory=dict)  # custom key → value (None removes)
    tags: list = field(default_factory=list)  # tag ids
    consents: dict = field(default_factory=dict)  # channel → agreed
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


def lookup_table(objects) -> dict:
    table = {}
    for item in objects:
        table[fold(item.name)] = item
    for item in objects:
        table[fold(item.code)] = item  # a code wins over a name that reads the same
    return table


def resolve(table: dict, cell, what):
    try:
        return table[fold(f.text(cell))]
    except KeyError:
        raise f.CellError(
            _("There is no %(what)s “%(value)s” (by code or name).")
            % {"what": str(what), "value": f.text(cell)}
        ) from None


def label_of(name: str) -> str:
    if name == "tags":
        return str(_("Tags"))
    if name == "custom_fields":
        return str(_("custom fields"))
    field = CUSTOMER_FIELDS.get(name)
    return str(field.verbose_name) if field is not None else name


def shown(value) -> str | None:
    if value in (None, "", {}):
        return None
    if isinstance(value, dict):
        return ", ".join(f"{key}={val}" for key, val in sorted(value.items()))
    return str(value)
