"""The import engine's row parsing (a part of `migration.engine.Importer`)."""

import logging
from bisect import bisect_left

from django.utils.translation import gettext as _

from customers.search_text import fold, name_key
from migration import fields as f
from migration.models import MatchKey, Policy
from migration.rows import (
    CUSTOMER_FIELDS,
    DATETIMES,
    EMPTY,
    RANK,
    STORE,
    TEXT_LIMITS,
    UNIQUE_FIELDS,
    ParsedRow,
    resolve,
)
from tags.models import Tag
from tags.services import create_tag_named

logger = logging.getLogger("loyalty.imports")


class RowParsing:
    """Reading a row: its cells parsed by `migration.fields`, duplicates within the file,
    tags named.

    A part of `migration.engine.Importer`, whose state it shares."""

    def _parse(self, number: int, cells: list) -> ParsedRow:
        row = ParsedRow(number, cells)
        for position, name in self.mapping.items():
            cell = cells[position] if position < len(cells) else None
            header = self.source.headers[position] or f"#{position + 1}"
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                self._empty(row, name)
                continue
            if isinstance(cell, str) and "\x00" in cell:  # no database text can hold it
                row.error(header, _("The cell holds a NUL character, which cannot be stored."))
                continue
            try:
                self._cell(row, name, cell)
            except f.CellError as error:
                row.error(header, str(error))
        key = row.values.get(self.match_key)
        if key is None and not row.errors:
            row.error(
                _("Match key"),
                _("The row has no %(key)s, which matches rows to customers.")
                % {"key": MatchKey(self.match_key).label},
            )
        row.key = key
        for name in UNIQUE_FIELDS:
            value = row.values.get(name)
            if value is None:
                continue
            earlier = self._earlier((name, value))
            if earlier is not None:
                self._twice(row, name, earlier)
            elif row.errors:  # never written: a later row with this key is still a second one
                self.unwritten[(name, value)] = number
            else:
                (self.recent[-1] if self.writing else self.unwritten)[(name, value)] = number
        return row

    def _earlier(self, key) -> int | None:
        for seen in self.recent:
            if key in seen:
                return seen[key]
        return self.unwritten.get(key)

    def _our_row(self, customer_id: int) -> int | None:
        """The row of this file that created or matched the customer, if one did."""
        position = bisect_left(self.created_ids, customer_id)
        if position < len(self.created_ids) and self.created_ids[position] == customer_id:
            return self.created_rows[position]
        return self.matched_rows.get(customer_id)

    def _column(self, name: str) -> str:
        """The file's header of the column mapped to a field (the field's name otherwise)."""
        field = CUSTOMER_FIELDS.get(name) or CUSTOMER_FIELDS[f"{name}_id"]
        return self.headers.get(name) or str(field.verbose_name)

    def _twice(self, row: ParsedRow, name: str, earlier: int) -> None:
        row.error(
            self._column(name),
            _("Same %(field)s as row %(row)s (“%(value)s”); the file has it twice.")
            % {
                "field": CUSTOMER_FIELDS[name].verbose_name,
                "row": earlier,
                "value": row.values[name],
            },
        )

    def _empty(self, row: ParsedRow, name: str) -> None:
        if not self.job.empty_clears:
            return
        if name.startswith(f.CUSTOM_PREFIX):
            row.custom[name[len(f.CUSTOM_PREFIX) :]] = None
            return
        if name in ("preferred_store", "referred_by"):
            name = f"{name}_id"
        if name in EMPTY:
            row.values[name] = EMPTY[name]

    def _cell(self, row: ParsedRow, name: str, cell) -> None:
        values = row.values
        if name.startswith(f.CUSTOM_PREFIX):
            definition = self.definitions.get(name[len(f.CUSTOM_PREFIX) :])
            if definition is not None:
                row.custom[definition.key] = f.parse_custom(definition, cell)
        elif name in TEXT_LIMITS:
            value = f.limited(cell, TEXT_LIMITS[name])
            values[name] = value.upper() if name == "member_number" else value
        elif name == "full_name":
            last, _space, first = " ".join(f.text(cell).split()).partition(" ")
            values.setdefault("last_name", f.limited(last, 80))
            values.setdefault("first_name", f.limited(first, 80))
        elif name == "email":
            values["email"] = f.parse_email(cell)
        elif name == "phone":
            phone = f.parse_phone_cell(cell)
            values["phone"], row.phone_forms = phone.e164, phone.forms
        elif name == "date_of_birth":
            values[name] = f.parse_datetime(cell, with_time=False)
        elif name in DATETIMES:
            values[name] = f.parse_datetime(cell, with_time=True)
        elif name == "referred_by":
            row.referrer = f.limited(cell, 20).upper()
        elif name in f.MODEL_CHOICES:
            values[name] = f.parse_choice(cell, f.MODEL_CHOICES[name], CUSTOMER_FIELDS[name])
        elif name == "country":
            raw = f.text(cell)
            code = f.COUNTRIES.get(fold(raw), raw.upper())
            if len(code) != 2 or not code.isalpha():
                raise f.CellError(_("“%(value)s” is not a country code.") % {"value": raw})
            values[name] = code
        elif name == "rank":
            values["rank_id"] = resolve(self.ranks, cell, RANK).pk
        elif name == "preferred_store":
            values["preferred_store_id"] = resolve(self.stores, cell, STORE).pk
        elif name == "points_balance":
            points = f.parse_decimal(cell)
            if points != points.to_integral_value() or points < 0:
                raise f.CellError(
                    _("“%(value)s” is not a whole number of points (0 or more).")
                    % {"value": f.text(cell)}
                )
            row.points = int(points)
        elif name == "tags":
            row.tags = self._tags(cell, row.new_tags)
        elif name in f.CONSENT_TARGETS:
            row.consents[f.CONSENT_TARGETS[name]] = f.parse_yes_no(cell)

    def _tags(self, cell, new: list) -> list[int]:
        """The ids of the cell's existing tags; names of missing ones are added to `new`."""
        ids = []
        for name in f.text(cell).replace(";", ",").split(","):
            name = " ".join(name.split())
            if not name:
                continue
            tag = self.tags.get(name_key(name))
            if tag is None:
                if not self.job.create_tags:
                    raise f.CellError(
                        _("There is no tag “%(name)s” (allow creating missing tags to add it).")
                        % {"name": name}
                    )
                if len(name) > 80:
                    raise f.CellError(_("A tag name is longer than 80 characters."))
                new.append(name)  # created once the row is known to be valid (_new_tags)
                continue
            if tag.kind == Tag.Kind.AUTOMATIC:
                raise f.CellError(
                    _("“%(name)s” is an automatic tag; its rule assigns it.") % {"name": tag.name}
                )
            ids.append(tag.pk)
        return ids

    def _new_tags(self, valid: list[ParsedRow]) -> None:
        """Create the tags valid rows name that do not exist yet (a skipped row creates none)."""
        for row in valid:
            for name in row.new_tags:
                tag = self.tags.get(name_key(name))
                if tag is None:
                    tag = create_tag_named(name=name, actor=self.actor)
                    self.tags[name_key(name)] = tag
                    self.created_tags.append(tag.pk)
                row.tags.append(tag.pk)

    def _report_errors(self, rows: list[ParsedRow]) -> None:
        for row in rows:
            if row.errors:
                row.outcome = "error"
                self.result.failed += 1
                self.errors.add(row)
                for name in UNIQUE_FIELDS:  # never written: its keys stay known to later rows
                    if row.values.get(name) is not None:
                        self.unwritten.setdefault((name, row.values[name]), row.number)
                if self.job.policy == Policy.ALL_OR_NOTHING and self.writing:
                    self.writing = False
                    for seen in self.recent:  # none of these will reach the table now
                        self.unwritten.update(seen)
                    self.recent.clear()
                    self.recent.append({})
