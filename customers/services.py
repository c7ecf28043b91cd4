"""Writes with side effects on customers. Views, commands and tasks all call these."""

import hashlib
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from customers.models import (
    Customer,
    CustomerEvent,
    CustomFieldDefinition,
    MarketingConsent,
    PasswordResetLink,
)
from customers.search_text import build_search_text

logger = logging.getLogger("loyalty.audit")

# Fields whose change is shown on the timeline (the search column and counters are derived).
TRACKED_FIELDS = (
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
    "preferred_store",
    "referral_source",
    "referred_by",
    "joined_at",
    "custom_fields",
)


def generate_member_number() -> str:
    """A new random member number (`M` + 10 digits) not yet in use."""
    return free_member_numbers(1)[0]


def free_member_numbers(count: int, *, avoid=frozenset()) -> list[str]:
    """`count` new random member numbers (`M` + 10 digits), none in use nor in `avoid` (numbers
    already handed out and not yet written), one query per round of candidates."""
    numbers: list[str] = []
    while len(numbers) < count:
        candidates = (
            {f"M{secrets.randbelow(10**10):010d}" for _ in range(count - len(numbers))}
            - set(avoid)
            - set(numbers)
        )
        taken = set(
            Customer.objects.filter(member_number__any_of=list(candidates)).values_list(
                "member_number", flat=True
            )
        )
        numbers.extend(sorted(candidates - taken))
    return numbers


def refresh_search_text(customer: Customer) -> None:
    customer.search_text = build_search_text(
        email=customer.email,
        phone=customer.phone,
        member_number=customer.member_number,
        old_member_id=customer.old_member_id,
        first_name=customer.first_name,
        last_name=customer.last_name,
    )


def _display(customer: Customer, field: str) -> str | None:
    value = getattr(customer, field)
    if value in (None, "", {}):
        return None
    if field == "custom_fields":
        return ", ".join(f"{key}={val}" for key, val in sorted(value.items()))
    choices_display = getattr(customer, f"get_{field}_display", None)
    if choices_display is not None:
        return str(choices_display())
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def _custom_changes(before: dict, after: dict) -> dict[str, list]:
    """Each custom field that changed, under its label, its values as people read them."""
    labels = dict(CustomFieldDefinition.objects.values_list("key", "label"))

    def shown(value):
        if isinstance(value, bool):
            return str(_("Yes") if value else _("No"))
        return None if value in (None, "") else str(value)

    return {
        labels.get(key, key): [shown(before.get(key)), shown(after.get(key))]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }


def _value(customer: Customer, field: str):
    """A field's stored value as compared for changes (a relation by its key)."""
    return getattr(customer, Customer._meta.get_field(field).attname)


def record_event(
    *,
    customer: Customer,
    kind: str,
    actor=None,
    message: str = "",
    changes: dict | None = None,
) -> CustomerEvent:
    return CustomerEvent.objects.create(
        customer=customer, kind=kind, actor=actor, message=message, changes=changes or {}
    )


def record_events(
    *,
    customers_sql: str,
    params: list,
    kind: str,
    actor=None,
    message: str = "",
    changes: dict | None = None,
    now=None,
) -> int:
    """`record_event` for many customers in one INSERT … SELECT: `customers_sql` is a query
    returning one column, the customer ids. Returns the number of events written."""
    event_table = CustomerEvent._meta.db_table
    prepared = CustomerEvent._meta.get_field("changes").get_db_prep_value(changes or {}, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {event_table} (customer_id, kind, actor_id, message, changes,"  # noqa: S608
            f" created_at) SELECT picked.*, %s, %s, %s, %s, %s FROM ({customers_sql}) AS picked",
            [kind, actor.pk if actor else None, message, prepared, now or timezone.now(), *params],
        )
        return cursor.rowcount


@transaction.atomic
def customer_create(*, data: dict, actor=None) -> Customer:
    """Create a customer from cleaned form data, with a member number. Their starting rank
    comes in `data` (the ranks app owns which rank that is)."""
    customer = Customer(**data)
    if not customer.member_number:
        customer.member_number = generate_member_number()
    refresh_search_text(customer)
    customer.full_clean()
    customer.save()
    record_event(customer=customer, kind=CustomerEvent.Kind.CREATED, actor=actor)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, data: dict, actor=None) -> Customer:
    """Apply cleaned form data to the stored customer; save and put on the timeline only the
    fields whose value really changed (an unchanged form writes nothing, not even updated_at)."""
    current = Customer.objects.select_for_update().get(pk=customer.pk)
    before = {field: _value(current, field) for field in data}
    shown_before = {field: _display(current, field) for field in TRACKED_FIELDS if field in data}
    for field, value in data.items():
        setattr(current, field, value)
    refresh_search_text(current)
    current.full_clean()
    changed = [field for field in data if _value(current, field) != before[field]]
    if not changed:
        return current
    current.save(update_fields=[*changed, "search_text", "updated_at"])
    changes = {
        capfirst(str(Customer._meta.get_field(field).verbose_name)): [
            shown_before[field],
            _display(current, field),
        ]
        for field in changed
        if field in shown_before and field != "custom_fields"
    }
    if "custom_fields" in changed:
        changes.update(_custom_changes(before["custom_fields"] or {}, current.custom_fields or {}))
    if changes:
        record_event(
            customer=current, kind=CustomerEvent.Kind.UPDATED, actor=actor, changes=changes
        )
    return current


def set_consents(
    *, customer: Customer, answers: dict[str, bool], source: str, actor=None, at=None
) -> list[str]:
    """Record the customer's marketing consent per channel ({channel: agreed}); only channels
    whose answer changed are written, each with its time and source, and the timeline says
    which. Returns the channels that changed."""
    at = at or timezone.now()
    current = {c.channel: c for c in MarketingConsent.objects.filter(customer=customer)}
    changes = {}
    for channel, granted in answers.items():
        before = current.get(channel)
        if before is not None and before.granted == granted:
            continue
        if before is None and not granted:
            continue  # never asked stays as no consent; nothing to withdraw
        MarketingConsent.objects.update_or_create(
            customer=customer,
            channel=channel,
            defaults={"granted": granted, "changed_at": at, "source": source},
        )
        label = str(MarketingConsent.Channel(channel).label)
        changes[label] = [
            _yes_no(before.granted if before else False),
            _yes_no(granted),
        ]
    if changes:
        record_event(
            customer=customer,
            kind=CustomerEvent.Kind.CONSENT,
            actor=actor,
            message=str(MarketingConsent.Source(source).label),
            changes=changes,
        )
    return list(changes)


def _yes_no(value: bool) -> str:
    return _("agreed") if value else _("not agreed")


def consents_of(customer: Customer) -> dict[str, MarketingConsent]:
    return {c.channel: c for c in MarketingConsent.objects.filter(customer=customer)}


def customer_has_history(customer: Customer) -> bool:
    """True when the customer has ledger data that a delete would lose."""
    return (
        customer.orders.exists()
        or customer.points_transactions.exists()
        or customer.redemptions.exists()
        or customer.tasks.exists()
    )


@transaction.atomic
def customer_delete(*, customer: Customer, actor) -> None:
    """Delete a customer that has no history; others must be archived or anonymised."""
    if customer_has_history(customer):
        raise ValidationError(
            _(
                "This customer has orders or points history and cannot be deleted; "
                "archive or anonymise the record instead."
            ),
            code="has_history",
        )
    LogEntry.objects.create(
        user=actor,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk),
        object_repr=customer.member_number,
        action_flag=DELETION,
        change_message="Deleted (no history)",
    )
    logger.info("customer %s deleted by user %s", customer.pk, actor.pk if actor else None)
    customer.delete()


@transaction.atomic
def customer_archive(*, customer: Customer, actor) -> Customer:
    if customer.is_archived:
        raise ValidationError(_("This customer is already archived."), code="archived")
    customer.archived_at = timezone.now()
    customer.save(update_fields=["archived_at", "updated_at"])
    record_event(customer=customer, kind=CustomerEvent.Kind.ARCHIVED, actor=actor)
    logger.info("customer %s archived by user %s", customer.pk, actor.pk if actor else None)
    return customer


@transaction.atomic
def customer_restore(*, customer: Customer, actor) -> Customer:
    if not customer.is_archived:
        raise ValidationError(_("This customer is not archived."), code="not_archived")
    if customer.is_anonymised:
        raise ValidationError(_("An anonymised customer cannot be restored."), code="anonymised")
    customer.archived_at = None
    customer.save(update_fields=["archived_at", "updated_at"])
    record_event(customer=customer, kind=CustomerEvent.Kind.RESTORED, actor=actor)
    return customer


@transaction.atomic
def customer_anonymise(*, customer: Customer, reason: str, actor) -> Customer:
    """Erase personal data irreversibly, keeping orders, points and redemptions."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for the erasure request."), code="required")
    if customer.is_anonymised:
        raise ValidationError(_("This customer is already anonymised."), code="anonymised")
    now = timezone.now()
    for field in ("first_name", "last_name", "address", "city", "password", "gender"):
        setattr(customer, field, "")
    for field in ("email", "phone", "old_member_id", "date_of_birth", "referred_by"):
        setattr(customer, field, None)
    customer.custom_fields = {}
    customer.status = Customer.Status.INACTIVE
    customer.anonymised_at = now
    customer.archived_at = customer.archived_at or now
    refresh_search_text(customer)
    customer.save()
    # Old values on the timeline are personal data too.
    customer.events.update(changes={})
    customer.password_reset_links.all().delete()
    customer.consents.all().delete()
    record_event(
        customer=customer, kind=CustomerEvent.Kind.ANONYMISED, actor=actor, message=reason[:255]
    )
    logger.info("customer %s anonymised by user %s", customer.pk, actor.pk if actor else None)
    return customer


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def send_password_reset_link(*, customer: Customer, actor) -> PasswordResetLink:
    """Email the customer a single-use link to set a new app password (rate-limited)."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    if not customer.email:
        raise ValidationError(
            _("This customer has no email address to send a link to."), code="no_email"
        )
    if not may_reset_password(customer):
        raise ValidationError(
            _("Blocked, archived or anonymised customers cannot be sent links."),
            code="not_allowed",
        )
    now = timezone.now()
    recent = list(
        customer.password_reset_links.filter(created_at__gte=now - timedelta(hours=1))
        .order_by("created_at")
        .values_list("created_at", flat=True)
    )
    limit = settings.PASSWORD_RESET_MAX_PER_HOUR
    if len(recent) >= limit:
        retry_at = timezone.localtime(recent[-limit] + timedelta(hours=1))
        raise ValidationError(
            _(
                "A reset link was already sent %(count)d times in the last hour; "
                "try again after %(time)s."
            ),
            code="rate_limited",
            params={"count": len(recent), "time": retry_at.strftime("%H:%M")},
        )
    token = secrets.token_urlsafe(32)
    link = PasswordResetLink.objects.create(
        customer=customer,
        token_hash=_token_hash(token),
        requested_by=actor,
        created_at=now,
        expires_at=now + settings.PASSWORD_RESET_LINK_LIFETIME,
    )
    url = settings.PUBLIC_BASE_URL + reverse("customers_public:reset_password", args=[token])
    minutes = int(settings.PASSWORD_RESET_LINK_LIFETIME.total_seconds() // 60)
    context = {"customer": customer, "url": url, "minutes": minutes}
    send_mail(
        subject=_("Set a new password for your membership"),
        message=render_to_string("customers/email/password_reset.txt", context),
        from_email=None,
        recipient_list=[customer.email],
    )
    record_event(
        customer=customer,
        kind=CustomerEvent.Kind.PASSWORD_RESET_SENT,
        actor=actor,
        message=_("Link valid for %(minutes)d minutes.") % {"minutes": minutes},
    )
    logger.info("password-reset link %s sent for customer %s", link.pk, customer.pk)
    return link


def may_reset_password(customer: Customer) -> bool:
    """A blocked, archived or anonymised customer's links stop working, sent or not."""
    return (
        customer.status != Customer.Status.BLOCKED
        and customer.archived_at is None
        and customer.anonymised_at is None
    )


def usable_reset_link(token: str) -> PasswordResetLink | None:
    link = (
        PasswordResetLink.objects.select_related("customer")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if link is None or not link.is_usable or not may_reset_password(link.customer):
        return None
    return link


@transaction.atomic
def set_password_with_link(*, token: str, password: str) -> Customer:
    """Set the customer's app password and spend the link; refuse used or expired links."""
    link = (
        PasswordResetLink.objects.select_for_update()
        .select_related("customer")
        .filter(token_hash=_token_hash(token))
        .first()
    )
    if link is None or not link.is_usable or not may_reset_password(link.customer):
        raise ValidationError(
            _("This link has expired or was already used. Ask for a new one."), code="invalid"
        )
    link.used_at = timezone.now()
    link.save(update_fields=["used_at"])
    customer = link.customer
    customer.password = make_password(password)
    customer.save(update_fields=["password", "updated_at"])
    # Any other outstanding links die with this one.
    customer.password_reset_links.filter(used_at__isnull=True).update(used_at=link.used_at)
    record_event(customer=customer, kind=CustomerEvent.Kind.PASSWORD_CHANGED)
    return customer


@transaction.atomic
def bulk_set_status(*, queryset, status: str, actor) -> int:
    """Set the status of every customer in `queryset`; one timeline entry per changed customer.

    Set-based: one INSERT … SELECT per previous status and one UPDATE, whatever the row count.
    """
    if status not in Customer.Status.values:
        raise ValidationError(_("Unknown status “%(status)s”."), params={"status": status})
    label = str(Customer.Status(status).label)
    ids = queryset.order_by().exclude(status=status).values("id")
    now = timezone.now()
    status_field = str(Customer._meta.get_field("status").verbose_name)
    for old in Customer.Status:
        if old.value == status:
            continue
        sub_sql, sub_params = ids.filter(status=old.value).query.sql_with_params()
        record_events(
            customers_sql=sub_sql,
            params=list(sub_params),
            kind=CustomerEvent.Kind.STATUS,
            actor=actor,
            message=_("Bulk status change"),
            changes={status_field: [str(old.label), label]},
            now=now,
        )
    changed = Customer.objects.filter(pk__in=ids).update(status=status, updated_at=now)
    logger.info(
        "bulk status %s on %s customers by user %s", status, changed, actor.pk if actor else None
    )
    return changed


@transaction.atomic
def bulk_archive(*, queryset, actor) -> int:
    """Archive every live customer of `queryset` (history kept, restorable one by one); one
    timeline entry each. Set-based: one INSERT … SELECT and one UPDATE."""
    ids = queryset.order_by().filter(archived_at__isnull=True).values("id")
    now = timezone.now()
    sub_sql, sub_params = ids.query.sql_with_params()
    record_events(
        customers_sql=sub_sql,
        params=list(sub_params),
        kind=CustomerEvent.Kind.ARCHIVED,
        actor=actor,
        message=_("Bulk archive"),
        now=now,
    )
    archived = Customer.objects.filter(pk__in=ids).update(archived_at=now, updated_at=now)
    logger.info("bulk archive of %s customers by user %s", archived, actor.pk if actor else None)
    return archived
