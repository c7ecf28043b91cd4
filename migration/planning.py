"""The import engine's planning (a part of `migration.engine.Importer`)."""

import logging
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import (
    Customer,
    CustomerEvent,
    MarketingConsent,
    PointsTransaction,
)
from customers.phone import phone_search_forms
from customers.services import free_member_numbers
from migration import fields as f
from migration import writer
from migration.models import ImportBatch
from migration.pipeline import Plan, rank_change_row
from migration.rows import (
    CONSENT_PREFIX,
    CUSTOMER_FIELDS,
    NOT_RESTORED,
    PREVIEW_ROWS,
    SEARCH_INPUTS,
    ParsedRow,
    label_of,
    search_text_of,
    shown,
)
from ranks import engine as rank_engine
from ranks.models import RankChange, RankPolicy
from tags.models import CustomerTag

logger = logging.getLogger("loyalty.imports")


def _yes_no(granted: bool | None) -> str:
    return str(_("agreed") if granted else _("not agreed"))


class Planning:
    """Planning a batch's writes: new, update or unchanged for each row, member numbers and
    ids for new customers, the rows for the writer.

    A part of `migration.engine.Importer`, whose state it shares."""

    def _number(self, creates: list[ParsedRow]) -> None:
        """Member numbers (generated where the file has none) and ids for new customers."""
        numbers = self._member_numbers(creates)
        ids = writer.allocate_ids(Customer, len(creates))
        for row, number, pk in zip(creates, numbers, ids, strict=True):
            row.values["member_number"], row.customer_id = number, pk
        if ids and self.created_ids and ids[0] < self.created_ids[-1]:
            raise RuntimeError("the customer id sequence went backwards during the import")
        self.created_ids.extend(ids)
        self.created_rows.extend(row.number for row in creates)

    def _classify(self, rows, valid, existing, current_links, creates):
        """New, update or unchanged for each valid row (no queries); the batch's writes to
        plan, or None when there are none (or nothing is written any more)."""
        updates = []
        for row in creates:
            row.outcome = "new"
        for row in valid:
            if row.errors or row.key not in existing:
                continue
            current = existing[row.key]
            row.customer_id = current["id"]
            self.matched_rows[row.customer_id] = row.number
            self._diff(row, current, current_links.get(current["id"], set()))
            if row.changed:
                updates.append((row, current))
                row.outcome = "update"
            else:
                row.outcome = "unchanged"
        self.result.created += len(creates)
        self.result.updated += len(updates)
        self.result.unchanged += sum(1 for row in valid if row.outcome == "unchanged")
        self._preview(rows)
        if not self.writing or not (creates or updates):
            return None
        return creates, updates

    def _diff(self, row: ParsedRow, current: dict, links: set[int]) -> None:
        changed = [name for name, value in row.values.items() if current[name] != value]
        if row.custom:
            merged = self._merged_custom(current["custom_fields"], row.custom)
            if merged != (current["custom_fields"] or {}):
                changed.append("custom_fields")
        if row.points is not None and row.points != current["points_balance"]:
            changed.append("points_balance")
        row.tags = [tag for tag in dict.fromkeys(row.tags) if tag not in links]
        if row.tags:
            changed.append("tags")
        agreed = {
            channel: state[0]
            for channel, state in self.current_consents.get(current["id"], {}).items()
        }
        # Only answers that change anything: "no" for someone never asked records nothing.
        row.consents = {
            channel: granted
            for channel, granted in row.consents.items()
            if agreed.get(channel, None if granted else False) != granted
        }
        if row.consents:
            changed.append("consents")
        row.changed = changed

    @staticmethod
    def _merged_custom(current: dict | None, custom: dict) -> dict:
        merged = dict(current or {})
        for key, value in custom.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = value
        return merged

    def _preview(self, rows: list[ParsedRow]) -> None:
        room = PREVIEW_ROWS - len(self.result.preview)
        for row in rows[: max(room, 0)]:
            values = row.values
            name = " ".join(
                part for part in (values.get("last_name"), values.get("first_name")) if part
            )
            self.result.preview.append(
                {
                    "row": row.number,
                    "outcome": row.outcome,
                    "key": f.text(row.key) if row.key is not None else "",
                    "name": name,
                    "changes": [label_of(name) for name in row.changed],
                    "errors": [f"{column}: {message}" for column, message in row.errors],
                }
            )

    def _plan(self, creates: list[ParsedRow], updates: list[tuple[ParsedRow, dict]]) -> "Plan":
        """Every row the batch writes, built in Python before any of it is written."""
        now = timezone.now()
        plan = Plan(batch=ImportBatch(job=self.job, written_at=now))
        batch = plan.batch
        if creates:
            plan.customer_columns, plan.customers = self._new_customers(creates, now, plan)
            batch.created_ids = [row.customer_id for row in creates]
            for row in creates:
                balance = row.points or 0
                if balance:
                    plan.points.append((row.customer_id, balance, balance))
                    batch.points[str(row.customer_id)] = balance
        if updates:
            self._changed_customers(updates, now, plan)
        for links, rows in ((plan.links, creates), (plan.update_links, [r for r, _c in updates])):
            links.extend(
                (row.customer_id, tag_id, CustomerTag.Source.IMPORT, self.actor_pk, now)
                for row in rows
                for tag_id in dict.fromkeys(row.tags)
            )
        plan.consents = [
            (row.customer_id, channel, granted, now, MarketingConsent.Source.IMPORT)
            for row in [*creates, *(r for r, _c in updates)]
            for channel, granted in row.consents.items()
            if granted or row.outcome == "update"
        ]
        plan.points = [
            (cid, delta, PointsTransaction.Reason.IMPORT, after, self.reference, now,
             self.actor_pk)
            for cid, delta, after in plan.points
        ]  # fmt: skip
        plan.rank_changes = [
            rank_change_row(
                cid, old, new, self.rank_names, reason, self.reference, amount, self.actor_pk, now
            )
            for cid, old, new, reason, amount in plan.rank_changes
        ]
        plan.events = [
            (cid, kind, self.actor_pk, message, changes, now)
            for cid, kind, message, changes in plan.events
        ]
        plan.render()
        return plan

    @property
    def actor_pk(self):
        return self.actor.pk if self.actor else None

    def _new_customers(self, rows: list[ParsedRow], now, plan: "Plan"):
        """New customers' rows, ranked as they go in: their only ledger entry is the imported
        points balance, so the Python rules of the rank engine (`decide`) place them exactly as
        the set-based pass would, without a second write of each row."""
        columns = ["id", *CUSTOMER_FIELDS]
        # Every column in order, with the model's defaults; a row's own values go over them.
        defaults = {"id": None}
        defaults.update(
            (name, model_field.get_default()) for name, model_field in CUSTOMER_FIELDS.items()
        )
        records = []
        for row in rows:
            values = {**row.values, "id": row.customer_id, "created_at": now, "updated_at": now}
            values["import_job_id"] = self.job.pk  # the timeline's "Created" entry says so
            values.setdefault("rank_id", self.default_rank_id)
            values.setdefault("joined_at", now)
            values.setdefault("referral_source", Customer.ReferralSource.IMPORT)
            values["custom_fields"] = self._merged_custom({}, row.custom)
            values["points_balance"] = values["lifetime_points"] = row.points or 0
            values["search_text"] = search_text_of(values, row.phone_forms)
            plan.rank_changes.extend(
                (row.customer_id, *change) for change in self._place(values, row, now)
            )
            merged = {**defaults, **values}
            records.append(tuple(merged[name] for name in columns))
        return columns, records

    def _place(self, values: dict, row: ParsedRow, now) -> list[tuple]:
        """Set a new customer's rank by the policy; the history entries it makes."""
        changes = []
        if "rank_id" in row.values:
            changes.append((None, row.values["rank_id"], RankChange.Reason.IMPORT, Decimal(0)))
        if not self.rank_settings.ladder:
            return changes

        points = Decimal(row.points or 0)
        amount = points if self.rank_settings.basis == RankPolicy.Basis.POINTS else Decimal(0)
        decision = rank_engine.decide(
            self.rank_settings,
            rank_id=values["rank_id"],
            amount=amount,
            overridden=False,
            override_expires_at=None,
            grace_until=None,
            now=now,
        )
        if decision.rank_id != values["rank_id"]:
            changes.append((values["rank_id"], decision.rank_id, decision.reason, amount))
        values["rank_id"], values["rank_grace_until"] = decision.rank_id, decision.grace_until
        return changes

    def _member_numbers(self, rows: list[ParsedRow]) -> list[str]:
        numbers = [row.values.get("member_number") or "" for row in rows]
        # Numbers of the last batches may still be on their way to the table: track them here.
        mine = {number for number in numbers if number}
        self.generated.append(mine)
        missing = [i for i, number in enumerate(numbers) if not number]
        if missing:
            with self.db_lock:
                fresh = free_member_numbers(len(missing), avoid=set().union(*self.generated))
            for i, number in zip(missing, fresh, strict=True):
                numbers[i] = number
            mine.update(fresh)
        return numbers

    def _changed_customers(self, updates, now, plan: "Plan") -> None:
        batch = plan.batch
        columns = sorted(
            {name for row, _c in updates for name in row.values}
            | {"search_text", "updated_at", "custom_fields", "points_balance", "lifetime_points"}
        )
        records = []
        for row, current in updates:
            values = {name: current[name] for name in columns if name in current}
            before = dict(values)
            values.update(row.values)
            values["custom_fields"] = self._merged_custom(current["custom_fields"], row.custom)
            if row.points is not None and row.points != current["points_balance"]:
                delta = row.points - current["points_balance"]
                values["points_balance"] = row.points
                if delta > 0:
                    values["lifetime_points"] = current["lifetime_points"] + delta
                plan.points.append((row.customer_id, delta, row.points))
                batch.points[str(row.customer_id)] = delta
                self.touched.append(row.customer_id)
            search_values = {name: values.get(name, current.get(name)) for name in SEARCH_INPUTS}
            phone_forms = row.phone_forms if "phone" in row.values else None
            if phone_forms is None and search_values["phone"]:
                phone_forms = phone_search_forms(search_values["phone"])
            values["search_text"] = search_text_of(search_values, phone_forms or [])
            values["updated_at"] = now
            if "rank_id" in row.changed:
                plan.rank_changes.append(
                    (
                        row.customer_id,
                        current["rank_id"],
                        values["rank_id"],
                        RankChange.Reason.IMPORT,
                        Decimal(0),
                    )
                )
                self.touched.append(row.customer_id)
            batch.previous[str(row.customer_id)] = {
                name: writer.json_safe(before[name])
                for name in columns
                if name in before and before[name] != values[name] and name not in NOT_RESTORED
            }
            records.append((row.customer_id, *(values[name] for name in columns)))
            changes = {
                label_of(name): [shown(before.get(name)), shown(values.get(name))]
                for name in row.changed
                if name in values
            }
            if row.tags:
                changes[str(_("Tags"))] = [None, _("added by the import")]
            before_consents = self.current_consents.get(row.customer_id, {})
            for channel, granted in row.consents.items():
                label = str(_("Marketing consent: %(channel)s") % {"channel": channel.label})
                state = before_consents.get(channel)
                changes[label] = [_yes_no(state and state[0]), _yes_no(granted)]
                # What undo puts back: the earlier answer with its time and source, or none.
                batch.previous[str(row.customer_id)][f"{CONSENT_PREFIX}{channel}"] = (
                    [writer.json_safe(part) for part in state] if state else None
                )
            plan.events.append(
                (
                    row.customer_id,
                    CustomerEvent.Kind.UPDATED,
                    self.job.describe(_("Updated")),
                    changes,
                )
            )
        plan.update_columns, plan.updates = columns, records
