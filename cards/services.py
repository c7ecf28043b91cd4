"""Writes of the tourist-card app. Stock is made set-based: a batch's numbers are computed in
memory and inserted in chunks, never one save per card."""

import re
from datetime import date, timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, Q
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext as _

from cards.luhn import check_digit, is_valid, normalise
from cards.models import CardBatch, CardEvent, CardStatus, TouristCard
from core.files import open_source
from customers import services as customer_services
from customers.models import Customer, CustomerEvent
from ranks.selectors import default_rank

NUMBER_LENGTH = 16  # payload of 15 digits + the Luhn digit, as bank cards
MAX_BATCH = 100_000
CHUNK = 5_000


def _next_sequence(prefix: str) -> int:
    """The first sequence number after every card already numbered under this prefix."""
    highest = (
        TouristCard.objects.annotate(length=Length("number"))
        .filter(number__startswith=prefix, length=NUMBER_LENGTH)
        .aggregate(highest=Max("number"))["highest"]
    )
    return int(highest[len(prefix) : -1]) + 1 if highest else 1


def check_prefix(prefix: str) -> None:
    if not prefix.isdigit() or not 1 <= len(prefix) <= 8:
        raise ValidationError(_("The prefix is 1 to 8 digits, nothing else."), code="prefix")


def generate_batch(*, name: str, prefix: str, size: int, validity_days: int, store, actor):
    """A batch of `size` new card numbers: prefix, a running sequence, the Luhn digit."""
    check_prefix(prefix)
    if not 1 <= size <= MAX_BATCH:
        raise ValidationError(
            _("A batch holds 1 to %(max)s cards.") % {"max": f"{MAX_BATCH:,}"}, code="size"
        )
    width = NUMBER_LENGTH - 1 - len(prefix)
    with transaction.atomic():
        first = _next_sequence(prefix)
        if first + size - 1 >= 10**width:
            raise ValidationError(
                _("The prefix %(prefix)s has no room for %(size)s more cards.")
                % {"prefix": prefix, "size": f"{size:,}"},
                code="full",
            )
        batch = CardBatch.objects.create(
            name=name,
            source=CardBatch.Source.GENERATED,
            prefix=prefix,
            size=size,
            validity_days=validity_days,
            store=store,
            created_by=actor,
        )
        if connection.vendor == "postgresql":
            _insert_numbers_sql(batch, prefix, width, first, size)
        else:
            _insert_numbers(batch, prefix, width, first, size)
    return batch


def _insert_numbers(batch, prefix: str, width: int, first: int, size: int) -> None:
    """The numbers computed here and inserted in chunks (SQLite, the embedded default)."""
    for start in range(first, first + size, CHUNK):
        payloads = (
            f"{prefix}{sequence:0{width}d}"
            for sequence in range(start, min(start + CHUNK, first + size))
        )
        TouristCard.objects.bulk_create(
            TouristCard(
                number=payload + check_digit(payload),
                batch=batch,
                status=CardStatus.IN_STOCK,
                store=batch.store,
            )
            for payload in payloads
        )


def _insert_numbers_sql(batch, prefix: str, width: int, first: int, size: int) -> None:
    """One INSERT … SELECT over generate_series, the check digit computed by the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            # The Luhn digit: the payload's digits from the right, every other one doubled
            # (its digits summed), starting with the rightmost, as cards.luhn.check_digit.
            """
            INSERT INTO cards_touristcard (
                number, batch_id, status, passport_number, nationality, full_name, store_id,
                updated_at)
            SELECT payload || ((10 - (
                       SELECT sum(CASE WHEN (length(payload) - i) %% 2 = 0
                                      THEN (substr(payload, i, 1)::int * 2) %% 10
                                           + (substr(payload, i, 1)::int * 2) / 10
                                      ELSE substr(payload, i, 1)::int END)
                       FROM generate_series(1, length(payload)) i) %% 10) %% 10)::text,
                   %(batch)s, %(status)s, '', '', '', %(store)s, now()
            FROM (
                SELECT %(prefix)s || lpad(g::text, %(width)s, '0') AS payload
                FROM generate_series(%(first)s::bigint, %(last)s::bigint) g
            ) numbers
            """,
            {
                "batch": batch.pk,
                "status": CardStatus.IN_STOCK,
                "store": batch.store_id,
                "prefix": prefix,
                "width": width,
                "first": first,
                "last": first + size - 1,
            },
        )


MIN_NUMBER_LENGTH = 8
MAX_NUMBER_LENGTH = 19
SHOWN_PROBLEMS = 50


class StockFileRefused(ValidationError):
    """A list of pre-printed numbers with problems: nothing was added; `problems` holds the
    first rows at fault as (row, value, why) and `count` how many there are in all."""

    def __init__(self, message, problems=(), count=0):
        super().__init__(message, code="file")
        self.problems, self.count = list(problems), count


def _file_number(cell) -> str:
    value = normalise(str(cell if cell is not None else "")).strip()
    if value.endswith(".0") and value[:-2].isdigit():  # a number cell read as a float
        value = value[:-2]
    return value


def _number_problem(number: str) -> str:
    if not number:
        return _("The first cell is empty.")
    if not number.isdigit() or not MIN_NUMBER_LENGTH <= len(number) <= MAX_NUMBER_LENGTH:
        return _("A card number is %(min)s to %(max)s digits.") % {
            "min": MIN_NUMBER_LENGTH,
            "max": MAX_NUMBER_LENGTH,
        }
    if not is_valid(number):
        return _("The check digit is wrong: the counter could never activate this card.")
    return ""


def import_batch(*, name: str, path, file_name: str, validity_days: int, store, actor):
    """A batch from a file of pre-printed numbers (the first column, after a header row), read
    by the safe file reader. Every number must be new, unique in the file and pass the Luhn
    check; if any does not, nothing is added and the rows at fault are named."""
    source = open_source(Path(path), file_name)
    numbers: dict[str, int] = {}
    problems: list[tuple[int, str, str]] = []
    for row, cells in source.rows():
        number = _file_number(cells[0] if cells else "")
        problem = _number_problem(number)
        if not problem and number in numbers:
            problem = _("The same number is on row %(row)s.") % {"row": numbers[number]}
        if problem:
            problems.append((row, number, problem))
        else:
            numbers[number] = row
        if len(numbers) > MAX_BATCH:
            raise StockFileRefused(
                _("A batch holds 1 to %(max)s cards.") % {"max": f"{MAX_BATCH:,}"}
            )
    listed = list(numbers)
    for start in range(0, len(listed), CHUNK):
        chunk = listed[start : start + CHUNK]
        for number in TouristCard.objects.filter(number__in=chunk).values_list("number", flat=True):
            problems.append((numbers[number], number, _("This card is already in stock.")))
    if problems:
        problems.sort()
        raise StockFileRefused(
            _("%(count)s rows of the file cannot be taken; no card was added.")
            % {"count": f"{len(problems):,}"},
            problems[:SHOWN_PROBLEMS],
            len(problems),
        )
    with transaction.atomic():
        batch = CardBatch.objects.create(
            name=name,
            source=CardBatch.Source.IMPORTED,
            size=len(listed),
            validity_days=validity_days,
            store=store,
            created_by=actor,
        )
        for start in range(0, len(listed), CHUNK):
            TouristCard.objects.bulk_create(
                TouristCard(number=number, batch=batch, status=CardStatus.IN_STOCK, store=store)
                for number in listed[start : start + CHUNK]
            )
    return batch


# --- Activation at the counter ----------------------------------------------------------------

PASSPORT_PATTERN = re.compile(r"^[A-Z0-9]{5,20}$")


class CardRefused(ValidationError):
    """The card cannot be activated: wrong check digit, unknown, or not in stock."""


def normalise_passport(typed: str) -> str:
    """A passport number as printed: capitals and digits, spaces dropped; otherwise refused."""
    passport = "".join((typed or "").split()).upper()
    if not PASSPORT_PATTERN.match(passport):
        raise ValidationError(
            _("A passport number is 5 to 20 letters and digits, nothing else."),
            code="passport",
        )
    return passport


def check_stay(*, arrival: date, departure: date, today: date) -> None:
    """Refuse a stay that is backwards, over, or began too long ago to be this trip."""
    if departure < arrival:
        raise ValidationError(_("The departure date is before the arrival date."), code="stay")
    if departure < today:
        raise ValidationError(
            _("The departure date has passed: the card would be expired already."), code="stay"
        )
    if (today - arrival).days > settings.TOURIST_ARRIVAL_MAX_DAYS_AGO:
        raise ValidationError(
            _("The arrival date is more than %(days)s days ago: check the date.")
            % {"days": settings.TOURIST_ARRIVAL_MAX_DAYS_AGO},
            code="stay",
        )


_NOT_IN_STOCK = {
    CardStatus.ACTIVE: _("Card %(number)s is already active (since %(when)s)."),
    CardStatus.EXPIRED: _("Card %(number)s has expired; give the traveller a new card."),
    CardStatus.VOID: _("Card %(number)s was voided and cannot be used."),
    CardStatus.REPLACED: _("Card %(number)s was replaced by another card and cannot be used."),
    CardStatus.CONVERTED: _("Card %(number)s was converted into a membership."),
}


def card_in_stock(typed_number: str, *, lock: bool = False) -> TouristCard:
    """The card a typed or scanned number names, if it can be activated; otherwise refused with
    why (check digit first, so a typo is never reported as "no such card")."""
    number = normalise(typed_number)
    if not is_valid(number):
        raise CardRefused(
            _("The card number's check digit is wrong: check the number."), code="check_digit"
        )
    cards = TouristCard.objects.select_for_update(of=("self",)) if lock else TouristCard.objects
    card = cards.select_related("batch").filter(number=number).first()
    if card is None:
        raise CardRefused(
            _("No card has the number %(number)s.") % {"number": number}, code="unknown"
        )
    if card.status != CardStatus.IN_STOCK:
        when = timezone.localtime(card.activated_at).date() if card.activated_at else ""
        raise CardRefused(
            _NOT_IN_STOCK[card.status] % {"number": number, "when": when}, code=card.status
        )
    return card


def travellers_matching(*, passport: str, nationality: str, phone: str = "", email: str = ""):
    """Customers who are this traveller: by an earlier card's passport and nationality, or by
    mobile number or email. The clerk chooses one to attach the card to, or a new customer."""
    found = {}
    by_passport = Customer.objects.filter(
        tourist_cards__passport_number=passport, tourist_cards__nationality=nationality
    ).distinct()
    for customer in by_passport:
        found[customer.pk] = customer
    contact = Q()
    if phone:
        contact |= Q(phone=phone)
    if email:
        contact |= Q(email__iexact=email)
    if contact:
        for customer in Customer.objects.live().filter(contact)[:5]:
            found.setdefault(customer.pk, customer)
    return list(found.values())


def activate(
    *,
    number: str,
    traveller: dict,
    store,
    actor,
    customer: Customer | None = None,
    today: date | None = None,
) -> TouristCard:
    """Activate an in-stock card for a traveller: attached to `customer` (one of the matches)
    or to a new customer of type tourist. All or nothing; the card row is locked, and the
    one-active-card-per-passport constraint stops a second desk activating for the same
    traveller at the same moment."""
    today = today or timezone.localdate()
    passport = normalise_passport(traveller["passport_number"])
    check_stay(arrival=traveller["arrival"], departure=traveller["departure"], today=today)
    nationality = traveller["nationality"]
    with transaction.atomic():
        card = card_in_stock(number, lock=True)
        if TouristCard.objects.filter(
            passport_number=passport, nationality=nationality, status=CardStatus.ACTIVE
        ).exists():
            raise ValidationError(
                _("This passport already holds an active card: replace or extend that one."),
                code="holder",
            )
        if customer is None:
            surname, _space, given = traveller["full_name"].strip().partition(" ")
            customer = customer_services.customer_create(
                data={
                    "first_name": (given or surname)[:80],
                    "last_name": surname[:80] if given else "",
                    "phone": traveller.get("phone") or None,
                    "email": traveller.get("email") or None,
                    "date_of_birth": traveller.get("date_of_birth"),
                    "country": str(nationality),
                    "customer_type": Customer.CustomerType.TOURIST,
                    "preferred_store": store,
                    "rank": default_rank(),
                },
                actor=actor,
            )
        card.status = CardStatus.ACTIVE
        card.customer = customer
        card.passport_number, card.nationality = passport, nationality
        card.full_name = traveller["full_name"].strip()
        card.arrival, card.departure = traveller["arrival"], traveller["departure"]
        card.valid_until = traveller["departure"] + timedelta(days=card.batch.validity_days)
        card.store = store or card.store
        card.activated_at, card.activated_by = timezone.now(), actor
        try:
            with transaction.atomic():
                card.save()
        except IntegrityError as error:  # another desk, same passport, same moment
            raise ValidationError(
                _("This passport already holds an active card: replace or extend that one."),
                code="holder",
            ) from error
        _event(card, CardEvent.Kind.ACTIVATED, actor, before=CardStatus.IN_STOCK)
        customer_services.record_event(
            customer=customer,
            kind=CustomerEvent.Kind.TOURIST_CARD,
            actor=actor,
            message=_("Tourist card %(number)s activated, valid until %(until)s")
            % {"number": card.number, "until": card.valid_until.isoformat()},
        )
    return card


def _event(card, kind, actor, *, before: str, reason: str = "") -> CardEvent:
    return CardEvent.objects.create(
        card=card, kind=kind, actor=actor, from_status=before, to_status=card.status, reason=reason
    )


# --- The life of an active card ----------------------------------------------------------------


def _locked(card: TouristCard, *, allowed: tuple[str, ...]) -> TouristCard:
    current = (
        TouristCard.objects.select_for_update(of=("self",))
        .select_related("batch", "customer")
        .get(pk=card.pk)
    )
    if current.status not in allowed:
        raise CardRefused(
            _("Card %(number)s is %(status)s: this cannot be done to it now.")
            % {"number": current.number, "status": current.get_status_display().lower()},
            code="state",
        )
    return current


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason; it stays on the card's history."), code="reason")
    return reason


def _timeline(card, actor, message: str) -> None:
    customer_services.record_event(
        customer=card.customer,
        kind=CustomerEvent.Kind.TOURIST_CARD,
        actor=actor,
        message=message[:255],
    )


def expire_due(*, today: date | None = None) -> int:
    """Expire every active card whose validity has ended, set-based: one UPDATE, its events
    and the customers' timeline entries by INSERT … SELECT. Returns how many expired."""
    today = today or timezone.localdate()
    with transaction.atomic():
        due = list(
            TouristCard.objects.select_for_update()
            .filter(status=CardStatus.ACTIVE, valid_until__lt=today)
            .values_list("pk", "customer_id")
        )
        if not due:
            return 0
        ids = [pk for pk, _customer in due]
        TouristCard.objects.filter(pk__in=ids).update(
            status=CardStatus.EXPIRED, updated_at=timezone.now()
        )
        now = timezone.now()
        CardEvent.objects.bulk_create(
            CardEvent(
                card_id=pk,
                kind=CardEvent.Kind.EXPIRED,
                from_status=CardStatus.ACTIVE,
                to_status=CardStatus.EXPIRED,
                created_at=now,
            )
            for pk in ids
        )
        CustomerEvent.objects.bulk_create(
            CustomerEvent(
                customer_id=customer_id,
                kind=CustomerEvent.Kind.TOURIST_CARD,
                message=_("Tourist card expired"),
                created_at=now,
            )
            for _pk, customer_id in due
            if customer_id
        )
    return len(ids)


def extend(*, card: TouristCard, valid_until: date, actor, reason: str) -> TouristCard:
    reason = _reason(reason)
    with transaction.atomic():
        current = _locked(card, allowed=(CardStatus.ACTIVE,))
        if valid_until <= current.valid_until:
            raise ValidationError(
                _("The new date must be after the current one (%(until)s).")
                % {"until": current.valid_until.isoformat()},
                code="until",
            )
        before = current.valid_until
        current.valid_until = valid_until
        current.save(update_fields=["valid_until", "updated_at"])
        _event(
            current,
            CardEvent.Kind.EXTENDED,
            actor,
            before=CardStatus.ACTIVE,
            reason=f"{before.isoformat()} → {valid_until.isoformat()}: {reason}",
        )
        _timeline(
            current,
            actor,
            _("Tourist card %(number)s extended to %(until)s")
            % {"number": current.number, "until": valid_until.isoformat()},
        )
    return current


def void(*, card: TouristCard, actor, reason: str) -> TouristCard:
    """Lost, stolen or a mistake: the card can never be used again. A card in stock may be
    voided too (damaged stock)."""
    reason = _reason(reason)
    with transaction.atomic():
        current = _locked(card, allowed=(CardStatus.IN_STOCK, CardStatus.ACTIVE))
        before = current.status
        current.status = CardStatus.VOID
        current.save(update_fields=["status", "updated_at"])
        _event(current, CardEvent.Kind.VOIDED, actor, before=before, reason=reason)
        if current.customer_id:
            _timeline(
                current,
                actor,
                _("Tourist card %(number)s voided: %(reason)s")
                % {"number": current.number, "reason": reason},
            )
    return current


def replace(*, card: TouristCard, new_number: str, actor, reason: str) -> TouristCard:
    """A lost card's successor: the new card takes over the traveller and validity; points and
    history stay with the customer, who never changes."""
    reason = _reason(reason)
    with transaction.atomic():
        current = _locked(card, allowed=(CardStatus.ACTIVE,))
        successor = card_in_stock(new_number, lock=True)
        current.status = CardStatus.REPLACED
        current.replaced_by = successor
        current.save(update_fields=["status", "replaced_by", "updated_at"])
        for field in (
            "customer",
            "passport_number",
            "nationality",
            "full_name",
            "arrival",
            "departure",
            "valid_until",
            "store",
        ):
            setattr(successor, field, getattr(current, field))
        successor.status = CardStatus.ACTIVE
        successor.activated_at, successor.activated_by = timezone.now(), actor
        successor.save()
        _event(current, CardEvent.Kind.REPLACED, actor, before=CardStatus.ACTIVE, reason=reason)
        _event(
            successor,
            CardEvent.Kind.ACTIVATED,
            actor,
            before=CardStatus.IN_STOCK,
            reason=_("Replaces card %(number)s") % {"number": current.number},
        )
        _timeline(
            current,
            actor,
            _("Tourist card %(old)s replaced by %(new)s")
            % {"old": current.number, "new": successor.number},
        )
    return successor


def convert(*, card: TouristCard, actor) -> Customer:
    """The tourist becomes a full member: customer type retail (points, orders and history
    kept, as they are the customer's), the card marked converted."""
    with transaction.atomic():
        current = _locked(card, allowed=(CardStatus.ACTIVE, CardStatus.EXPIRED))
        before = current.status
        current.status = CardStatus.CONVERTED
        current.save(update_fields=["status", "updated_at"])
        customer = customer_services.customer_update(
            customer=current.customer,
            data={"customer_type": Customer.CustomerType.RETAIL},
            actor=actor,
        )
        _event(current, CardEvent.Kind.CONVERTED, actor, before=before)
        _timeline(
            current,
            actor,
            _("Tourist card %(number)s converted into a full membership")
            % {"number": current.number},
        )
    return customer
