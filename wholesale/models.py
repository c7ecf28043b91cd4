"""Wholesale applications: what a business sent (details and documents), where it stands
(pending, needs information, approved, rejected, revoked), every transition, and the one row
of conditions that says who may become a wholesale customer."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    NEEDS_INFO = "needs_info", _("Needs information")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REVOKED = "revoked", _("Revoked")


OPEN_STATUSES = (Status.PENDING, Status.NEEDS_INFO)


class DocumentKind(models.TextChoices):
    BUSINESS_LICENCE = "licence", _("Business registration licence")
    TAX_CERTIFICATE = "tax", _("Tax registration certificate")
    OWNER_ID = "owner_id", _("Owner's identity card")
    SHOP_PHOTO = "shop_photo", _("Photo of the shop or warehouse")
    OTHER = "other", _("Other")


class BusinessType(models.TextChoices):
    SHOP = "shop", _("Shop or grocery")
    RESTAURANT = "restaurant", _("Restaurant, café or hotel")
    DISTRIBUTOR = "distributor", _("Distributor or agent")
    ONLINE = "online", _("Online seller")
    OFFICE = "office", _("Company or office buying for itself")
    OTHER = "other", _("Other")


# What an applicant fills in about the business (and may correct through the one-time link).
APPLICANT_FIELDS = (
    "business_name",
    "contact_name",
    "phone",
    "email",
    "tax_id",
    "address",
    "city",
    "business_type",
    "expected_monthly_value",
)


class WholesaleApplication(models.Model):
    """A request to buy at wholesale terms, from the public page or entered by staff."""

    class Source(models.TextChoices):
        PUBLIC = "public", _("Public page")
        STAFF = "staff", _("Entered by staff")

    reference = models.CharField(_("reference"), max_length=12, unique=True)
    status = models.CharField(_("status"), max_length=12, choices=Status, default=Status.PENDING)
    source = models.CharField(_("source"), max_length=8, choices=Source, default=Source.PUBLIC)
    business_name = models.CharField(_("business name"), max_length=160)
    contact_name = models.CharField(_("contact name"), max_length=120)
    phone = models.CharField(_("mobile number"), max_length=20)
    email = models.EmailField(_("email"))
    tax_id = models.CharField(_("tax ID"), max_length=14)
    address = models.CharField(_("business address"), max_length=255)
    city = models.CharField(_("city"), max_length=80)
    business_type = models.CharField(_("business type"), max_length=12, choices=BusinessType)
    expected_monthly_value = models.DecimalField(
        _("expected monthly order value"), max_digits=14, decimal_places=0
    )
    message = models.TextField(_("message"), blank=True)
    consent = models.BooleanField(_("agreed to be contacted"), default=False)
    # Lower-case, accent-free text of the searchable fields (customers.search_text.fold).
    search_text = models.TextField(editable=False, default="")
    # The customer it concerns: a match found when it arrived, or the one approval made.
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="wholesale_applications",
    )
    previous = models.ForeignKey(
        "self",
        verbose_name=_("earlier application"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reviewer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.TextField(_("reason"), blank=True)
    # What the applicant was asked for, and the one-time link's hash and expiry.
    info_needed = models.TextField(_("information needed"), blank=True)
    info_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    info_token_expires_at = models.DateTimeField(null=True, blank=True)
    # The last email that could not be sent, for "resend" (empty when all went out).
    email_failed = models.CharField(_("unsent email"), max_length=16, blank=True)
    email_error = models.CharField(_("email error"), max_length=255, blank=True)

    class Meta:
        ordering = ["submitted_at", "id"]
        permissions = [
            ("review_wholesaleapplication", _("Can decide wholesale applications")),
        ]
        indexes = [
            models.Index(fields=["status", "submitted_at", "id"], name="wsapp_queue_idx"),
            models.Index(fields=["submitted_at", "id"], name="wsapp_submitted_idx"),
            models.Index(fields=["phone"], name="wsapp_phone_idx"),
            models.Index(fields=["email"], name="wsapp_email_idx"),
            models.Index(fields=["tax_id"], name="wsapp_tax_idx"),
            models.Index(fields=["customer", "submitted_at"], name="wsapp_customer_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in Status]), name="wsapp_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(expected_monthly_value__gte=0), name="wsapp_value_not_negative"
            ),
        ]

    def __str__(self):
        return f"{self.reference} {self.business_name}"

    def get_absolute_url(self):
        return reverse("wholesale:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def age(self, now=None):
        return (now or timezone.now()) - self.submitted_at


def document_path(document, filename):
    # The applicant's file name never reaches the disk: only the application and a random name.
    return f"wholesale/{document.application_id}/{document.stored_name}"


class ApplicationDocument(models.Model):
    """A file the applicant sent; its type was read from its content, not its name."""

    application = models.ForeignKey(
        WholesaleApplication, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("document"), max_length=12, choices=DocumentKind)
    file = models.FileField(upload_to=document_path, max_length=200)
    stored_name = models.CharField(max_length=60)
    original_name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField(_("size"))
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("wholesale:document", args=[self.pk])

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class ApplicationEvent(models.Model):
    """One step in an application's life: who, when, from which status to which, and why."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        ASSIGNED = "assigned", _("Assigned")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        INFO_REQUESTED = "info_requested", _("Information requested")
        INFO_PROVIDED = "info_provided", _("Information provided")
        REVOKED = "revoked", _("Revoked")
        EMAIL_SENT = "email_sent", _("Email sent")
        EMAIL_FAILED = "email_failed", _("Email not sent")

    application = models.ForeignKey(
        WholesaleApplication, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(_("what"), max_length=16, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_status = models.CharField(_("from"), max_length=12, choices=Status, blank=True)
    to_status = models.CharField(_("to"), max_length=12, choices=Status, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["application", "-created_at"], name="wsevent_application_idx")
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class WholesaleConditions(models.Model):
    """The single row of terms for becoming and being a wholesale customer."""

    min_first_order_value = models.DecimalField(
        _("minimum first order value"),
        max_digits=14,
        decimal_places=0,
        default=Decimal(5_000_000),
    )
    min_first_order_quantity = models.PositiveIntegerField(
        _("minimum first order quantity"), default=50
    )
    required_documents = models.JSONField(_("required documents"), default=list, blank=True)
    discount_percent = models.DecimalField(
        _("wholesale discount (%)"), max_digits=5, decimal_places=2, default=Decimal(10)
    )
    price_list = models.CharField(_("price list"), max_length=80, blank=True)
    payment_terms = models.CharField(
        _("payment terms"), max_length=160, default="Bank transfer, 30 days after invoice"
    )
    sla_hours = models.PositiveIntegerField(_("answer within (hours)"), default=48)
    reapply_days = models.PositiveIntegerField(_("re-apply after a rejection (days)"), default=30)
    reject_reasons = models.JSONField(_("rejection reasons"), default=list, blank=True)
    auto_approve = models.BooleanField(_("approve automatically"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("wholesale conditions")
        verbose_name_plural = _("wholesale conditions")
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="wsconditions_single_row"),
            models.CheckConstraint(
                condition=Q(discount_percent__gte=0, discount_percent__lte=100),
                name="wsconditions_discount_percent",
            ),
        ]

    def __str__(self):
        return str(_("Wholesale conditions"))


class ConditionsChange(models.Model):
    """Who changed the conditions, when, and each changed value (old → new)."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changes = models.JSONField(default=dict)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M}"
