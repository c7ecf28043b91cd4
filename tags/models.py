from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from core.palette import Colour


class Tag(models.Model):
    """A label that groups customers; manual tags are assigned by staff, automatic by a rule."""

    class Kind(models.TextChoices):
        MANUAL = "manual", _("Manual")
        AUTOMATIC = "automatic", _("Automatic")

    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(_("slug"), max_length=90, unique=True)
    colour = models.CharField(_("colour"), max_length=20, choices=Colour, default=Colour.BLUE)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind, default=Kind.MANUAL)
    rule = models.TextField(_("rule (customer filter query string)"), blank=True)
    customers = models.ManyToManyField(
        "customers.Customer", through="CustomerTag", related_name="tags", blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rule_applied_at = models.DateTimeField(_("rule last applied"), null=True, blank=True)
    rule_added = models.PositiveIntegerField(_("added by the last run"), default=0)
    rule_removed = models.PositiveIntegerField(_("removed by the last run"), default=0)
    # Why the last run of the rule failed (empty when it succeeded), shown on the tag list.
    rule_error = models.TextField(_("last run's error"), blank=True)
    rule_failed_at = models.DateTimeField(_("rule last failed"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("assign_tag", _("Can assign manual tags to customers"))]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique"),
            models.CheckConstraint(
                condition=Q(kind="manual") | ~Q(rule=""), name="tag_automatic_has_rule"
            ),
        ]

    def __str__(self):
        return self.name


class CustomerTag(models.Model):
    """One tag on one customer, with where the assignment came from."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Manual")
        RULE = "rule", _("Rule")
        IMPORT = "import", _("Import")
        WHOLESALE = "wholesale", _("Wholesale")

    # Indexed by customertag_customer_idx (customer, tag) and customertag_unique (tag,
    # customer); single-column indexes of their own would only slow every assignment.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="tag_links", db_index=False
    )
    tag = models.ForeignKey(
        Tag, on_delete=models.CASCADE, related_name="customer_links", db_index=False
    )
    source = models.CharField(_("source"), max_length=12, choices=Source, default=Source.MANUAL)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(_("assigned at"), auto_now_add=True)

    class Meta:
        constraints = [
            # Leading on tag: serves "customers with tag X" (the filter's EXISTS) and counts.
            models.UniqueConstraint(fields=["tag", "customer"], name="customertag_unique"),
        ]
        indexes = [models.Index(fields=["customer", "tag"], name="customertag_customer_idx")]

    def __str__(self):
        return f"{self.customer_id} → {self.tag_id}"
