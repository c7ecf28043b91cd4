"""The import engine's matching (a part of `migration.engine.Importer`)."""

import logging

from django.utils.translation import gettext as _

from customers.models import Customer, MarketingConsent
from migration.rows import CUSTOMER_FIELDS, SEARCH_INPUTS, UNIQUE_FIELDS, ParsedRow
from tags.models import CustomerTag

logger = logging.getLogger("loyalty.imports")


class Matching:
    """Matching a batch's rows with the customers in the table: by the match key, the other
    unique identifiers, tag links, referrers.

    A part of `migration.engine.Importer`, whose state it shares."""

    def _read(self, rows: list[ParsedRow]):
        """Everything a batch asks the database, in one hold of the connection: its referrers,
        the customers its keys match (locked), the identifiers other customers hold, the
        matched customers' tags, and member numbers and ids for its new customers. The batch
        is checked as far as those answers need; the rest is Python (`_classify`), which runs
        while the writer writes the batch before."""
        with self.db_lock:
            valid = [row for row in rows if not row.errors]
            existing = self._existing(valid)
            for row in valid:
                current = existing.get(row.key)
                earlier = current and self._our_row(current["id"])
                if earlier:
                    self._twice(row, self.match_key, earlier)
            self._check_unique(valid, existing)
            current_links = self._current_links(valid, existing)
            self.current_consents = self._current_consents(valid, existing)
            creates = []
            for row in valid:
                if not row.errors and row.key not in existing:
                    self._check_new(row)
                    if not row.errors:
                        creates.append(row)
            self._referrers(rows, creates)
            valid = [row for row in valid if not row.errors]
            creates = [row for row in creates if not row.errors]
            self._report_errors(rows)
            self._new_tags(valid)
            if self.writing and creates:
                self._number(creates)
            self._remember_numbers(rows, valid, creates)
        return valid, existing, current_links, creates

    def _referrers(self, batch: list[ParsedRow], creates: list[ParsedRow]) -> None:
        """Referrers by member number: a customer in the table (one lookup for the batch), a
        new customer of an earlier row of the file, or one of this batch's new customers (its
        id is filled in when the batch's ids are taken). A referrer named only by a later row,
        or whose own row is invalid, is an error of this row."""
        rows = [row for row in batch if row.referrer and not row.errors]
        if not rows:
            return
        with self.db_lock:
            found = dict(
                Customer.objects.filter(
                    member_number__any_of={row.referrer for row in rows}
                ).values_list("member_number", "id")
            )
        in_batch = {  # new customers of this batch, and rows that failed (to say so)
            row.values["member_number"]: row
            for row in (*creates, *(row for row in batch if row.errors))
            if row.values.get("member_number")
        }
        label = self._column("referred_by")
        for row in rows:
            number = row.referrer
            if number == row.values.get("member_number"):
                row.error(label, _("A customer cannot be their own referrer."))
            elif number in found:
                row.values["referred_by_id"] = found[number]
            elif self.file_numbers is not None and number in self.file_numbers:
                known = self.file_numbers[number]
                if known < 0:
                    row.error(label, self._failed_referrer(-known))
                elif known:
                    row.values["referred_by_id"] = known
            elif number in in_batch and in_batch[number].number < row.number:
                row.referrer_row = in_batch[number]
            else:
                row.error(
                    label,
                    _(
                        "No customer has the member number “%(number)s” (a referrer must be in "
                        "the table already or on an earlier row of the file)."
                    )
                    % {"number": number},
                )
        # A referrer whose own row failed fails the rows that name it (chains included).
        failed = True
        while failed:
            failed = False
            for row in rows:
                if row.referrer_row is not None and row.referrer_row.errors and not row.errors:
                    row.error(label, self._failed_referrer(row.referrer_row.number))
                    failed = True

    @staticmethod
    def _failed_referrer(number: int) -> str:
        return _("The referrer's row %(row)s has problems of its own.") % {"row": number}

    def _remember_numbers(self, rows, valid: list[ParsedRow], creates: list[ParsedRow]) -> None:
        """This batch's new customers' numbers for later rows' referrers (an invalid row's as
        minus its row number, so that a row naming it is told which row failed), and the ids
        of the referrers this batch names among them now that they have ids (none in a dry
        run)."""
        if self.file_numbers is None:
            return
        for row in rows:
            if row.errors and row.values.get("member_number"):
                self.file_numbers.setdefault(row.values["member_number"], -row.number)
        for row in creates:
            if "member_number" in row.values:
                self.file_numbers[row.values["member_number"]] = row.customer_id or 0
        for row in valid:
            if row.referrer_row is not None and row.referrer_row.customer_id:
                row.values["referred_by_id"] = row.referrer_row.customer_id

    def _existing(self, rows: list[ParsedRow]) -> dict:
        if not rows:
            return {}
        columns = {
            "id",
            "updated_at",
            "points_balance",
            "lifetime_points",
            "custom_fields",
            "rank_id",
            *SEARCH_INPUTS,
        }
        for row in rows:
            columns.update(row.values)
            if row.referrer:  # resolved after this lookup (`_referrers`)
                columns.add("referred_by_id")
        with self.db_lock:
            found = list(
                Customer.objects.filter(**{f"{self.match_key}__any_of": [row.key for row in rows]})
                .order_by()
                .select_for_update()
                .values(*sorted(columns))
            )
        return {customer[self.match_key]: customer for customer in found}

    def _check_unique(self, rows: list[ParsedRow], existing: dict) -> None:
        """An identifier in a row that belongs to another customer is an error of that row."""
        for name in UNIQUE_FIELDS:
            if name == self.match_key:
                continue
            wanted = {row.values[name] for row in rows if row.values.get(name) is not None}
            if not wanted:
                continue
            with self.db_lock:
                holders = {
                    value: (pk, number)
                    for value, pk, number in Customer.objects.filter(**{f"{name}__any_of": wanted})
                    .order_by()
                    .values_list(name, "id", "member_number")
                }
            for row in rows:
                value = row.values.get(name)
                if value is None or value not in holders:
                    continue
                if holders[value][0] != existing.get(row.key, {}).get("id"):
                    earlier = self._our_row(holders[value][0])
                    if earlier:
                        self._twice(row, name, earlier)
                        continue
                    label = CUSTOMER_FIELDS[name].verbose_name
                    row.error(
                        self._column(name),
                        _("“%(value)s” is already the %(field)s of customer %(member)s.")
                        % {"value": value, "field": label, "member": holders[value][1]},
                    )

    def _check_new(self, row: ParsedRow) -> None:
        for definition in self.definitions.values():
            if definition.required and row.custom.get(definition.key) in (None, ""):
                row.error(
                    definition.label,
                    _("%(field)s is required for a new customer.") % {"field": definition.label},
                )

    def _current_consents(self, rows: list[ParsedRow], existing: dict) -> dict[int, dict]:
        """{customer id: {channel: (agreed, when, source)}} of the matched customers whose rows
        give consent."""
        ids = [existing[row.key]["id"] for row in rows if row.consents and row.key in existing]
        consents: dict[int, dict] = {}
        if ids:
            with self.db_lock:
                rows = list(
                    MarketingConsent.objects.filter(customer_id__any_of=ids).values_list(
                        "customer_id", "channel", "granted", "changed_at", "source"
                    )
                )
            for customer_id, channel, *state in rows:
                consents.setdefault(customer_id, {})[channel] = tuple(state)
        return consents

    def _current_links(self, rows: list[ParsedRow], existing: dict) -> dict[int, set[int]]:
        ids = [existing[row.key]["id"] for row in rows if row.tags and row.key in existing]
        links: dict[int, set[int]] = {}
        if ids:
            with self.db_lock:
                pairs = list(
                    CustomerTag.objects.filter(customer_id__any_of=ids).values_list(
                        "customer_id", "tag_id"
                    )
                )
            for customer_id, tag_id in pairs:
                links.setdefault(customer_id, set()).add(tag_id)
        return links
