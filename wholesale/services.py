"""The wholesale workflow's writes: applying (public or by staff), assigning, the decisions
(approve, reject, ask for more), the applicant's answer through the one-time link, revoking,
the conditions, and the emails each step sends.

Every decision locks the application row and checks it is still open, so two reviewers at
once cannot both decide it. Emails go out after the decision is committed: a mail server that
fails leaves the decision standing and the application marked with the unsent email."""

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from customers import services as customer_services
from customers.models import Customer, CustomerEvent
from customers.phone import phone_search_forms
from customers.search_text import fold
from ranks.selectors import default_rank
from tags import services as tag_services
from tags.models import CustomerTag
from wholesale import documents as document_checks
from wholesale.models import (
    APPLICANT_FIELDS,
    OPEN_STATUSES,
    ApplicationDocument,
    ApplicationEvent,
    ConditionsChange,
    Status,
    WholesaleApplication,
    WholesaleConditions,
)
from wholesale.selectors import checklist, get_conditions, matching_customers

logger = logging.getLogger(__name__)

WHOLESALE_TAG = "Wholesale"
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class AlreadyDecided(ValidationError):
    """The application was decided (by someone else) since the page was opened."""


class DuplicateApplication(ValidationError):
    """The same business has an application still open."""

    def __init__(self, existing: WholesaleApplication):
        self.existing = existing
        super().__init__(
            _(
                "This business already has an application waiting for review: reference "
                "%(reference)s. It will be answered by email; there is no need to apply again."
            )
            % {"reference": existing.reference},
            code="duplicate",
        )


def search_text_for(application: WholesaleApplication) -> str:
    parts = [
        application.reference,
        application.business_name,
        application.contact_name,
        application.email,
        application.tax_id,
        *phone_search_forms(application.phone),
    ]
    return fold(" ".join(part for part in parts if part))


def _new_reference() -> str:
    return "WS" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


def _event(application, kind, actor=None, *, before="", reason="") -> ApplicationEvent:
    return ApplicationEvent.objects.create(
        application=application,
        kind=kind,
        actor=actor,
        from_status=before,
        to_status=application.status,
        reason=reason,
    )


def _timeline(application, actor, message: str) -> None:
    if application.customer_id:
        customer_services.record_event(
            customer=application.customer,
            kind=CustomerEvent.Kind.WHOLESALE,
            actor=actor,
            message=message[:255],
        )


def _same_business(*, phone: str, email: str, tax_id: str):
    # Three index lookups in one statement (an OR of them would scan on SQLite).
    rows = WholesaleApplication.objects.order_by()
    return rows.filter(phone=phone).union(rows.filter(email=email), rows.filter(tax_id=tax_id))


def check_may_apply(*, phone: str, email: str, tax_id: str, now=None):
    """The earlier application a new one continues (None for a first one), or the reason this
    business may not apply now: one is still open, it is already approved, or it was rejected
    less than the waiting period ago."""
    now = now or timezone.now()
    earlier = sorted(
        _same_business(phone=phone, email=email, tax_id=tax_id),
        key=lambda application: application.submitted_at,
    )
    for application in earlier:
        if application.status in OPEN_STATUSES:
            raise DuplicateApplication(application)
    if not earlier:
        return None
    latest = earlier[-1]
    if latest.status == Status.APPROVED:
        raise ValidationError(
            _(
                "This business is already a wholesale customer (application %(reference)s). "
                "Contact us if your details changed."
            )
            % {"reference": latest.reference},
            code="approved",
        )
    if latest.status == Status.REJECTED:
        allowed_from = (latest.decided_at or latest.submitted_at) + timedelta(
            days=get_conditions().reapply_days
        )
        if now < allowed_from:
            raise ValidationError(
                _(
                    "Application %(reference)s was not accepted on %(decided)s. You may apply "
                    "again from %(date)s."
                )
                % {
                    "reference": latest.reference,
                    "decided": date_format(timezone.localtime(latest.decided_at), "DATE_FORMAT"),
                    "date": date_format(timezone.localtime(allowed_from), "DATE_FORMAT"),
                },
                code="too_soon",
            )
    return latest


def _store_documents(application, files: list[tuple[str, object]]) -> list[ApplicationDocument]:
    document_checks.check_count(application.documents.count(), len(files))
    stored = []
    for kind, upload in files:
        detected = document_checks.check_upload(upload)
        document = ApplicationDocument(
            application=application,
            kind=kind,
            stored_name=f"{secrets.token_hex(12)}.{detected.extension}",
            original_name=(upload.name or "")[:200],
            content_type=detected.content_type,
            size=upload.size,
        )
        document.file.save(document.stored_name, upload, save=False)
        document.save()
        stored.append(document)
    return stored


def _create(data: dict, *, source: str, previous, actor) -> WholesaleApplication:
    for _attempt in range(5):
        application = WholesaleApplication(
            **data, source=source, previous=previous, reference=_new_reference()
        )
        application.search_text = search_text_for(application)
        try:
            with transaction.atomic():
                application.save()
        except IntegrityError:
            continue  # the random reference was taken; draw another
        return application
    raise RuntimeError("no free application reference after five attempts")


def submit_application(
    *,
    data: dict,
    files: list[tuple[str, object]],
    source: str = WholesaleApplication.Source.PUBLIC,
    actor=None,
    now=None,
) -> WholesaleApplication:
    """Record an application with its documents (all or nothing), link it to the customer its
    phone or email names, approve it at once when the conditions allow, and email the
    reference. `data` holds cleaned, normalised values."""
    with transaction.atomic():
        previous = check_may_apply(
            phone=data["phone"], email=data["email"], tax_id=data["tax_id"], now=now
        )
        application = _create(data, source=source, previous=previous, actor=actor)
        _store_documents(application, files)
        matches = matching_customers(application)
        if len(matches) == 1:
            application.customer = matches[0].customer
            application.save(update_fields=["customer"])
        _event(application, ApplicationEvent.Kind.SUBMITTED, actor)
        auto = source == WholesaleApplication.Source.PUBLIC and _auto_approvable(application)
    _send(application, "received")
    if auto:
        approve(
            application=application,
            actor=None,
            reason=_("Approved automatically: every condition was met."),
        )
        application.refresh_from_db()
    return application


def _auto_approvable(application) -> bool:
    conditions = get_conditions()
    if not conditions.auto_approve:
        return False
    if len(matching_customers(application)) > 1:
        return False  # which customer to upgrade is a person's decision
    return all(item.passed for item in checklist(application, conditions))


def _locked_open(application: WholesaleApplication) -> WholesaleApplication:
    current = (
        WholesaleApplication.objects.select_for_update(of=("self",))
        .select_related("customer", "decided_by")
        .get(pk=application.pk)
    )
    if current.status not in OPEN_STATUSES:
        # Read the decider afresh: a join under FOR UPDATE OF self may show the row as it was
        # before the decision this lock waited for.
        decider = get_user_model().objects.filter(pk=current.decided_by_id).first()
        who = decider or _("the system")
        raise AlreadyDecided(
            _("Application %(reference)s was already %(status)s by %(who)s at %(when)s.")
            % {
                "reference": current.reference,
                "status": current.get_status_display().lower(),
                "who": who,
                "when": date_format(timezone.localtime(current.decided_at), "j M Y, H:i"),
            },
            code="decided",
        )
    return current


def _customer_for_approval(application, customer_id) -> Customer:
    """The customer approval upgrades (one of the matches, the staff's choice) or creates."""
    matches = {match.customer.pk: match.customer for match in matching_customers(application)}
    if customer_id:
        if int(customer_id) not in matches:
            raise ValidationError(
                _("The chosen customer does not match this application."), code="customer"
            )
        return matches[int(customer_id)]
    if application.customer_id:
        return application.customer
    if len(matches) == 1:
        return next(iter(matches.values()))
    if matches:
        raise ValidationError(
            _("Several customers match this application; choose the one to upgrade."),
            code="choose",
        )
    return None


def _make_wholesale(application, customer, actor) -> Customer:
    if customer is None:
        first, _space, last = application.contact_name.rpartition(" ")
        return customer_services.customer_create(
            data={
                "first_name": (last if first else application.contact_name)[:80],
                "last_name": first[:80],
                "phone": application.phone,
                "email": application.email,
                "address": application.address,
                "city": application.city,
                "customer_type": Customer.CustomerType.WHOLESALE,
                "rank": default_rank(),
            },
            actor=actor,
        )
    if customer.customer_type != Customer.CustomerType.WHOLESALE:
        customer = customer_services.customer_update(
            customer=customer,
            data={"customer_type": Customer.CustomerType.WHOLESALE},
            actor=actor,
        )
    return customer


def approve(*, application, actor, customer_id=None, reason: str = "") -> WholesaleApplication:
    """Approve: the matching customer becomes wholesale (or a wholesale customer is created),
    gets the Wholesale tag with provenance `wholesale`, and is emailed the terms."""
    with transaction.atomic():
        current = _locked_open(application)
        before = current.status
        customer = _make_wholesale(current, _customer_for_approval(current, customer_id), actor)
        tag = tag_services.ensure_tag(name=WHOLESALE_TAG, actor=actor)
        tag_services.bulk_assign(
            queryset=Customer.objects.filter(pk=customer.pk),
            tags=[tag],
            actor=actor,
            source=CustomerTag.Source.WHOLESALE,
        )
        current.customer = customer
        current.status = Status.APPROVED
        current.decided_at, current.decided_by, current.reason = timezone.now(), actor, reason
        current.info_token_hash, current.info_token_expires_at = "", None
        current.save()
        _event(current, ApplicationEvent.Kind.APPROVED, actor, before=before, reason=reason)
        _timeline(
            current,
            actor,
            _("Wholesale application %(reference)s approved") % {"reference": current.reference},
        )
    _send(current, "approved")
    return current


def reject(*, application, actor, reason: str) -> WholesaleApplication:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason the applicant will read."), code="reason")
    with transaction.atomic():
        current = _locked_open(application)
        before = current.status
        current.status = Status.REJECTED
        current.decided_at, current.decided_by, current.reason = timezone.now(), actor, reason
        current.info_token_hash, current.info_token_expires_at = "", None
        current.save()
        _event(current, ApplicationEvent.Kind.REJECTED, actor, before=before, reason=reason)
        _timeline(
            current,
            actor,
            _("Wholesale application %(reference)s rejected: %(reason)s")
            % {"reference": current.reference, "reason": reason},
        )
    _send(current, "rejected")
    return current


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _issue_token(application) -> str:
    token = secrets.token_urlsafe(32)
    application.info_token_hash = _token_hash(token)
    application.info_token_expires_at = timezone.now() + timedelta(
        days=settings.WHOLESALE_INFO_LINK_DAYS
    )
    application.save(update_fields=["info_token_hash", "info_token_expires_at", "updated_at"])
    return token


def request_info(*, application, actor, needed: str) -> WholesaleApplication:
    """Needs information: the applicant is emailed what is missing and a one-time link."""
    needed = (needed or "").strip()
    if not needed:
        raise ValidationError(_("Say what the applicant should add or correct."), code="needed")
    with transaction.atomic():
        current = _locked_open(application)
        before = current.status
        current.status = Status.NEEDS_INFO
        current.info_needed = needed
        current.save()
        token = _issue_token(current)
        _event(current, ApplicationEvent.Kind.INFO_REQUESTED, actor, before=before, reason=needed)
        _timeline(
            current,
            actor,
            _("Wholesale application %(reference)s: more information requested")
            % {"reference": current.reference},
        )
    _send(current, "info_needed", token=token)
    return current


def application_for_token(token: str) -> WholesaleApplication | None:
    """The application a one-time link opens: waiting for information, link not expired."""
    if not token or len(token) > 100:
        return None
    return (
        WholesaleApplication.objects.filter(
            info_token_hash=_token_hash(token),
            status=Status.NEEDS_INFO,
            info_token_expires_at__gt=timezone.now(),
        )
        .prefetch_related("documents")
        .first()
    )


def provide_info(*, token: str, data: dict, files) -> WholesaleApplication:
    """The applicant's corrections and documents through the link: back to Pending, link spent."""
    with transaction.atomic():
        found = application_for_token(token)
        if found is None:
            raise ValidationError(_("This link was already used or has expired."), code="link")
        current = WholesaleApplication.objects.select_for_update().get(pk=found.pk)
        if current.info_token_hash != _token_hash(token) or current.status != Status.NEEDS_INFO:
            raise ValidationError(_("This link was already used or has expired."), code="link")
        changed = []
        for field in APPLICANT_FIELDS:  # what the applicant may correct
            if field in data and data[field] != getattr(current, field):
                setattr(current, field, data[field])
                changed.append(str(WholesaleApplication._meta.get_field(field).verbose_name))
        _store_documents(current, files)
        before = current.status
        current.status = Status.PENDING
        current.info_token_hash, current.info_token_expires_at = "", None
        current.search_text = search_text_for(current)
        current.save()
        summary = []
        if changed:
            summary.append(_("Corrected: %(fields)s.") % {"fields": ", ".join(changed)})
        if files:
            summary.append(_("%(count)d document(s) added.") % {"count": len(files)})
        _event(
            current,
            ApplicationEvent.Kind.INFO_PROVIDED,
            None,
            before=before,
            reason=" ".join(summary),
        )
    return current


def assign(*, application, actor) -> WholesaleApplication:
    with transaction.atomic():
        current = WholesaleApplication.objects.select_for_update().get(pk=application.pk)
        if current.reviewer_id != actor.pk:
            current.reviewer = actor
            current.save(update_fields=["reviewer", "updated_at"])
            _event(current, ApplicationEvent.Kind.ASSIGNED, actor, before=current.status)
    return current


def bulk_decide(*, ids: list[int], action: str, reason: str, actor) -> tuple[int, list[str]]:
    """Approve or reject many with one reason: (how many were decided, why others were not)."""
    done, problems = 0, []
    applications = WholesaleApplication.objects.filter(pk__in=ids).order_by("submitted_at")
    for application in applications:
        try:
            if action == "approve":
                approve(application=application, actor=actor, reason=reason)
            else:
                reject(application=application, actor=actor, reason=reason)
        except ValidationError as error:
            problems.append(f"{application.reference}: {' '.join(error.messages)}")
        else:
            done += 1
    return done, problems


def create_manual(*, data: dict, files, actor, customer_id=None) -> WholesaleApplication:
    """A wholesale customer entered by staff: an application approved by that staff member."""
    with transaction.atomic():
        previous = check_may_apply(phone=data["phone"], email=data["email"], tax_id=data["tax_id"])
        application = _create(
            data, source=WholesaleApplication.Source.STAFF, previous=previous, actor=actor
        )
        application.reviewer = actor
        application.save(update_fields=["reviewer"])
        _store_documents(application, files)
        _event(application, ApplicationEvent.Kind.SUBMITTED, actor)
        approve(
            application=application,
            actor=actor,
            customer_id=customer_id,
            reason=_("Entered and approved by staff."),
        )
    application.refresh_from_db()
    return application


def revoke(*, customer: Customer, actor, reason: str) -> Customer:
    """Back to retail: the Wholesale tag removed, approved applications marked revoked."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(_("Give the reason for revoking wholesale terms."), code="reason")
    if customer.customer_type != Customer.CustomerType.WHOLESALE:
        raise ValidationError(_("This customer is not a wholesale customer."), code="not_wholesale")
    with transaction.atomic():
        customer = customer_services.customer_update(
            customer=customer, data={"customer_type": Customer.CustomerType.RETAIL}, actor=actor
        )
        tag = tag_services.ensure_tag(name=WHOLESALE_TAG, actor=actor)
        tag_services.bulk_remove(
            queryset=Customer.objects.filter(pk=customer.pk), tags=[tag], actor=actor
        )
        approved = list(
            WholesaleApplication.objects.select_for_update().filter(
                customer=customer, status=Status.APPROVED
            )
        )
        for application in approved:
            application.status = Status.REVOKED
            application.decided_at, application.decided_by = timezone.now(), actor
            application.reason = reason
            application.save()
            _event(
                application,
                ApplicationEvent.Kind.REVOKED,
                actor,
                before=Status.APPROVED,
                reason=reason,
            )
        customer_services.record_event(
            customer=customer,
            kind=CustomerEvent.Kind.WHOLESALE,
            actor=actor,
            message=(_("Wholesale terms revoked: %(reason)s") % {"reason": reason})[:255],
        )
    return customer


# --- Conditions --------------------------------------------------------------------------------


def _shown(value) -> str:
    if isinstance(value, list):
        return "; ".join(str(item) for item in value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def save_conditions(*, data: dict, actor) -> WholesaleConditions:
    """Apply the settings form's values; the change (old → new per field) is recorded."""
    with transaction.atomic():
        conditions = get_conditions(for_update=True)
        changes = {}
        for field, value in data.items():
            before = getattr(conditions, field)
            if before != value:
                label = str(WholesaleConditions._meta.get_field(field).verbose_name)
                changes[label] = [_shown(before), _shown(value)]
                setattr(conditions, field, value)
        if changes:
            conditions.updated_by = actor
            conditions.full_clean()
            conditions.save()
            ConditionsChange.objects.create(actor=actor, changes=changes)
    return conditions


# --- Emails ------------------------------------------------------------------------------------

EMAIL_KINDS = {
    "received": _lazy("Application received"),
    "approved": _lazy("Approval"),
    "rejected": _lazy("Rejection"),
    "info_needed": _lazy("Request for information"),
}
_SUBJECTS = {
    "received": lambda a: _("We received your wholesale application %(ref)s"),
    "approved": lambda a: _("Your wholesale application %(ref)s is approved"),
    "rejected": lambda a: _("Your wholesale application %(ref)s"),
    "info_needed": lambda a: _("More information needed for application %(ref)s"),
}


def _send(application, kind: str, *, token: str = "") -> bool:
    """Email the applicant; a failure is recorded on the application (for "resend"), never
    raised: the step it reports on has already happened."""
    context = {
        "application": application,
        "conditions": get_conditions(),
        "link": (
            settings.PUBLIC_BASE_URL + reverse("wholesale_public:more", args=[token])
            if token
            else ""
        ),
        "days": settings.WHOLESALE_INFO_LINK_DAYS,
    }
    try:
        send_mail(
            subject=_SUBJECTS[kind](application) % {"ref": application.reference},
            message=render_to_string(f"wholesale/email/{kind}.txt", context),
            from_email=None,
            recipient_list=[application.email],
        )
    except Exception as error:
        logger.warning(
            "wholesale email %s for application %s failed: %s",
            kind,
            application.pk,
            type(error).__name__,
        )
        WholesaleApplication.objects.filter(pk=application.pk).update(
            email_failed=kind, email_error=str(error)[:255] or type(error).__name__
        )
        application.email_failed, application.email_error = kind, str(error)[:255]
        _event(
            application,
            ApplicationEvent.Kind.EMAIL_FAILED,
            None,
            before=application.status,
            reason=str(error)[:500] or type(error).__name__,
        )
        return False
    if application.email_failed:
        WholesaleApplication.objects.filter(pk=application.pk).update(
            email_failed="", email_error=""
        )
        application.email_failed = application.email_error = ""
    _event(
        application,
        ApplicationEvent.Kind.EMAIL_SENT,
        None,
        before=application.status,
        reason=str(EMAIL_KINDS[kind]),
    )
    return True


def resend_email(*, application, actor) -> bool:
    """Send again the email that failed (an information request gets a fresh link)."""
    kind = application.email_failed
    if not kind:
        raise ValidationError(_("Every email of this application was sent."), code="nothing")
    token = ""
    if kind == "info_needed":
        if application.status != Status.NEEDS_INFO:
            raise ValidationError(
                _("The application no longer waits for information."), code="stale"
            )
        token = _issue_token(application)
    return _send(application, kind, token=token)
