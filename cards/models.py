"""Tourist cards: stock in batches, activation for a traveller at the counter, and the card's
life until it expires, is voided, replaced or converted into a full membership."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField


class CardStatus(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")
    ACTIVE = "active", _("Active")
    EXPIRED = "expired", _("Expired")
    VOID = "void", _("Void")
    REPLACED = "replaced", _("Replaced")
    CONVERTED = "converted", _("Converted")


class CardBatch(models.Model):
    """A print run of cards: generated numbers (prefix + sequence + Luhn digit) or a list of
    pre-printed numbers read from a file."""

    class Source(models.TextChoices):
        GENERATED = "generated", _("Generated")
        IMPORTED = "imported", _("Pre-printed list")

    name = models.CharField(_("name"), max_length=120, unique=True)
    source = models.CharField(_("source"), max_length=10, choices=Source, default=Source.GENERATED)
    prefix = models.CharField(_("number prefix"), max_length=8, blank=True)
    size = models.PositiveIntegerField(_("cards"))
    validity_days = models.PositiveSmallIntegerField(
        _("valid days after departure"),
        default=30,
        help_text=_("A card stays valid until the traveller's departure plus this many days."),
    )
    store = models.ForeignKey(
        "customers.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="card_batches",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("card batch")
        verbose_name_plural = _("card batches")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("cards:batch", args=[self.pk])


class TouristCard(models.Model):
    number = models.CharField(_("card number"), max_length=19, unique=True)
    batch = models.ForeignKey(
        CardBatch, verbose_name=_("batch"), on_delete=models.PROTECT, related_name="cards"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=CardStatus, default=CardStatus.IN_STOCK
    )
    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tourist_cards",
    )
    passport_number = models.CharField(_("passport number"), max_length=20, blank=True)
    nationality = CountryField(_("nationality"), blank=True)  # ISO 3166-1 alpha-2
    full_name = models.CharField(_("full name as in the passport"), max_length=160, blank=True)
    arrival = models.DateField(_("arrival"), null=True, blank=True)
    departure = models.DateField(_("departure"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    store = models.ForeignKey(
        "customers.Store",
        verbose_name=_("store"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="tourist_cards",
    )
    activated_at = models.DateTimeField(_("activated at"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    replaced_by = models.OneToOneField(
        "self",
        verbose_name=_("replaced by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="replaces",
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["number"]
        permissions = [
            ("activate_touristcard", _("Can activate and look after tourist cards")),
            ("view_passport_touristcard", _("Can see passport numbers in full")),
        ]
        indexes = [
            models.Index(fields=["passport_number", "nationality"], name="card_passport_idx"),
            models.Index(fields=["status", "valid_until"], name="card_expiry_idx"),
            models.Index(fields=["batch", "status"], name="card_batch_idx"),
            models.Index(fields=["customer", "status"], name="card_customer_idx"),
            models.Index(fields=["activated_at"], name="card_activated_idx"),
            # The nationality criterion starts from the cards of that nationality.
            models.Index(fields=["nationality", "customer"], name="card_nationality_idx"),
        ]
        constraints = [
            # One active card per passport: two desks cannot activate two cards for one traveller.
            models.UniqueConstraint(
                fields=["passport_number", "nationality"],
                condition=Q(status="active"),
                name="card_one_active_per_passport",
            ),
            models.CheckConstraint(
                condition=Q(status__in=[s.value for s in CardStatus]), name="card_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(departure__isnull=True)
                | Q(arrival__isnull=True)
                | Q(departure__gte=models.F("arrival")),
                name="card_departure_after_arrival",
            ),
        ]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("cards:detail", args=[self.pk])

    @property
    def masked_passport(self) -> str:
        """The passport number as lists and exports show it: only the last four characters."""
        if not self.passport_number:
            return ""
        return "•" * max(len(self.passport_number) - 4, 0) + self.passport_number[-4:]


class CardEvent(models.Model):
    """One change in a card's life: who, when, from → to, why."""

    class Kind(models.TextChoices):
        ACTIVATED = "activated", _("Activated")
        EXTENDED = "extended", _("Validity extended")
        EXPIRED = "expired", _("Expired")
        VOIDED = "voided", _("Voided")
        REPLACED = "replaced", _("Replaced")
        CONVERTED = "converted", _("Converted to membership")

    card = models.ForeignKey(TouristCard, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("what"), max_length=10, choices=Kind)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    from_status = models.CharField(max_length=10, choices=CardStatus, blank=True)
    to_status = models.CharField(max_length=10, choices=CardStatus, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["card", "-created_at"], name="cardevent_card_idx")]

    def __str__(self):
        return f"{self.card} {self.kind}"
