"""Audiences: named segments of customers for campaigns. A dynamic audience is a saved customer
filter (whoever matches now); a static one is a list of members, filled by a snapshot, by hand,
by a bulk action or from a file."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.jobs import Job


class Audience(models.Model):
    class Kind(models.TextChoices):
        DYNAMIC = "dynamic", _("Dynamic")
        STATIC = "static", _("Static")

    name = models.CharField(_("name"), max_length=120)
    # The name folded (case, accents, spacing aside): two audiences may not share it.
    name_key = models.CharField(max_length=120, unique=True, editable=False)
    description = models.TextField(_("description"), blank=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind, default=Kind.DYNAMIC)
    # A customer-list query string: the members of a dynamic audience; for a frozen one, the
    # rule it was frozen from (kept with frozen_at).
    rule = models.TextField(_("rule (customer filter)"), blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last change"), auto_now=True)
    # The exact size, counted in the background (a page never counts a whole audience).
    size = models.PositiveIntegerField(_("size"), null=True, blank=True)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True)
    archived = models.BooleanField(_("archived"), default=False)
    frozen_at = models.DateTimeField(_("frozen at"), null=True, blank=True)
    freeze_on = models.DateField(
        _("freeze on"),
        null=True,
        blank=True,
        help_text=_("Turn into a static snapshot on this day (by the daily freeze run)."),
    )

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(
                fields=["freeze_on"], name="audience_freeze_idx", condition=Q(kind="dynamic")
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("audiences:detail", args=[self.pk])

    @property
    def is_static(self) -> bool:
        return self.kind == self.Kind.STATIC

    @property
    def list_query(self) -> str:
        """The customer-list query string that opens exactly this audience's members."""
        return f"audience={self.pk}"


class AudienceMember(models.Model):
    """One customer in a static audience, with how and by whom they were added."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Picked")
        FILE = "file", _("File")
        SNAPSHOT = "snapshot", _("Snapshot")
        BULK = "bulk", _("Bulk action")

    # Indexed by audience_member_unique (audience, customer) and member_customer_idx.
    audience = models.ForeignKey(
        Audience, on_delete=models.CASCADE, related_name="members", db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False
    )
    source = models.CharField(_("source"), max_length=10, choices=Source, default=Source.MANUAL)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(_("added at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["audience", "customer"], name="audience_member_unique"),
        ]
        indexes = [models.Index(fields=["customer"], name="member_customer_idx")]

    def __str__(self):
        return f"{self.customer_id} in {self.audience_id}"


class AudienceChange(models.Model):
    """The audience's history: who changed what, when."""

    class Action(models.TextChoices):
        CREATED = "created", _("Created")
        EDITED = "edited", _("Edited")
        ADDED = "added", _("Members added")
        REMOVED = "removed", _("Members removed")
        FROZEN = "frozen", _("Frozen")
        ARCHIVED = "archived", _("Archived")
        RESTORED = "restored", _("Restored")

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="changes")
    action = models.CharField(max_length=10, choices=Action)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.get_action_display()} {self.at:%Y-%m-%d %H:%M}"


class AudienceJob(Job):
    """Background work on one audience: a snapshot of its rule into members (a new static
    audience, or a freeze), or adding / removing the members a file names."""

    class Kind(models.TextChoices):
        SNAPSHOT = "snapshot", _("Snapshot")
        FREEZE = "freeze", _("Freeze")
        FILE_ADD = "file_add", _("Add from a file")
        FILE_REMOVE = "file_del", _("Remove by a file")

    audience = models.ForeignKey(Audience, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=8, choices=Kind)
    # The rule a snapshot or freeze selects with (as it was when asked).
    rule = models.TextField(blank=True)
    upload = models.FileField(upload_to="audiences/uploads/", blank=True)
    upload_name = models.CharField(max_length=255, blank=True)
    error_file = models.FileField(upload_to="audiences/errors/", blank=True)
    outcome = models.JSONField(default=dict, blank=True)

    task_name = "audiences.tasks.run_audience_job"

    class Meta(Job.Meta):
        constraints = [
            # Two people freezing (or snapshotting) at once: one job, the other is refused.
            models.UniqueConstraint(
                fields=["audience"],
                condition=Q(kind__in=["snapshot", "freeze"], status__in=["queued", "running"]),
                name="audiencejob_one_snapshot",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.audience_id}"

    def get_absolute_url(self):
        return reverse("audiences:job", args=[self.pk])
