"""Keyset ("cursor") pagination: every page costs the same, the first or the 20,000th.

OFFSET makes the database walk past every earlier row, so page 5,000 of a million-row list
takes hundreds of milliseconds. A keyset page asks instead for "the rows after this one in the
current order", which an index answers directly. The order always ends with the primary key,
so it is total and a cursor names exactly one position.

A cursor is the sort values of the last (or first) row shown, JSON in URL-safe base64. It is
only ever used as filter values, so a tampered cursor can at worst show a different page; one
that does not decode is reported as invalid, and the list starts again from the top.
"""

import base64
import binascii
import json
from dataclasses import dataclass, field
from functools import reduce
from operator import and_, or_

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import F, Q


class InvalidCursor(ValueError):
    pass


@dataclass(frozen=True)
class SortKey:
    path: str  # ORM path, e.g. "total_spent" or "rank__level"
    descending: bool
    nullable: bool

    def expression(self, reverse: bool = False):
        descending = self.descending != reverse
        expression = F(self.path)
        if not self.nullable:
            return expression.desc() if descending else expression.asc()
        # Nulls always sort last in the forward order (and so first when walking backwards).
        placement = {"nulls_first": True} if reverse else {"nulls_last": True}
        return expression.desc(**placement) if descending else expression.asc(**placement)


@dataclass
class KeysetPage:
    rows: list
    next_cursor: str | None = None
    previous_cursor: str | None = None
    is_first: bool = True
    complete: bool = False  # the first page, and nothing after it: it holds every result
    extra: dict = field(default_factory=dict)


def _field_for(model, path: str):
    parts = path.split("__")
    nullable = False
    for part in parts[:-1]:
        relation = model._meta.get_field(part)
        nullable = nullable or relation.null
        model = relation.related_model
    final = model._meta.get_field(parts[-1])
    return final, nullable or final.null


def sort_keys(model, ordering: list[str]) -> list[SortKey]:
    """Turn "-field" paths into sort keys ending with the primary key."""
    keys = []
    for item in ordering:
        path = item.lstrip("-")
        if path == "pk":
            path = model._meta.pk.name
        try:
            _, nullable = _field_for(model, path)
        except FieldDoesNotExist as error:
            raise ValueError(f"cannot sort by {item}") from error
        keys.append(SortKey(path, item.startswith("-"), nullable))
    pk = model._meta.pk.name
    if not keys or keys[-1].path != pk:
        keys.append(SortKey(pk, keys[-1].descending if keys else False, False))
    return keys


def encode_cursor(values: list) -> str:
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(model, keys: list[SortKey], cursor: str) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise InvalidCursor("The page link is damaged.") from error
    if not isinstance(values, list) or len(values) != len(keys):
        raise InvalidCursor("The page link does not fit this sort order.")
    converted = []
    for key, value in zip(keys, values, strict=True):
        if value is None:
            converted.append(None)
            continue
        model_field, _ = _field_for(model, key.path)
        try:
            converted.append(model_field.to_python(value))
        except (ValidationError, TypeError, ValueError) as error:
            raise InvalidCursor("The page link is damaged.") from error
    return converted


def _beyond(key: SortKey, value, reverse: bool) -> Q:
    """Rows strictly past `value` in this key's direction (the direction flips with reverse)."""
    descending = key.descending != reverse
    nulls_first = key.nullable and reverse
    if value is None:
        # Nulls are tied with each other: past them come the non-nulls only when nulls lead.
        return Q(**{f"{key.path}__isnull": False}) if nulls_first else Q(pk__in=[])
    past = Q(**{f"{key.path}__{'lt' if descending else 'gt'}": value})
    if key.nullable and not nulls_first:
        past |= Q(**{f"{key.path}__isnull": True})
    return past


def _equal(key: SortKey, value) -> Q:
    if value is None:
        return Q(**{f"{key.path}__isnull": True})
    return Q(**{key.path: value})


def after_condition(keys: list[SortKey], values: list, reverse: bool = False) -> Q:
    """(k1 past v1) OR (k1 = v1 AND k2 past v2) OR …, plus a plain range bound on the first
    key so the planner can start an index scan at the cursor instead of filtering."""
    alternatives = []
    for position, key in enumerate(keys):
        equal = [_equal(k, v) for k, v in zip(keys[:position], values[:position], strict=True)]
        alternatives.append(reduce(and_, [*equal, _beyond(key, values[position], reverse)]))
    condition = reduce(or_, alternatives)
    first, value = keys[0], values[0]
    if value is not None and not first.nullable:
        descending = first.descending != reverse
        condition &= Q(**{f"{first.path}__{'lte' if descending else 'gte'}": value})
    return condition


def _values_of(row, keys: list[SortKey]) -> list:
    values = []
    for key in keys:
        value = row
        for part in key.path.split("__"):
            value = getattr(value, part, None) if value is not None else None
        values.append(value)
    return values


def keyset_page(
    queryset, ordering: list[str], per_page: int, after: str = "", before: str = ""
) -> KeysetPage:
    """One page of `queryset` in `ordering`, after or before a cursor (or the first page)."""
    model = queryset.model
    keys = sort_keys(model, ordering)
    reverse = bool(before) and not after
    cursor = after or before
    ordered = queryset.order_by(*[key.expression(reverse) for key in keys])
    if cursor:
        values = decode_cursor(model, keys, cursor)
        ordered = ordered.filter(after_condition(keys, values, reverse))
    rows = list(ordered[: per_page + 1])
    more = len(rows) > per_page
    rows = rows[:per_page]
    if reverse:
        rows.reverse()
    page = KeysetPage(
        rows=rows, is_first=not cursor or (reverse and not more), complete=not cursor and not more
    )
    if rows:
        first_values, last_values = _values_of(rows[0], keys), _values_of(rows[-1], keys)
        if more or reverse:
            page.next_cursor = encode_cursor(last_values)
        if cursor and (more or not reverse):
            page.previous_cursor = encode_cursor(first_values)
    return page


def cursor_at(queryset, ordering: list[str], position: int) -> str | None:
    """The cursor that opens the page after row `position` (for tests and the benchmark)."""
    keys = sort_keys(queryset.model, ordering)
    ordered = queryset.order_by(*[key.expression() for key in keys])
    row = ordered[position - 1 : position].first()
    return encode_cursor(_values_of(row, keys)) if row else None
