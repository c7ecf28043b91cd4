from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.jobs import Job
from core.palette import Colour


class Rank(models.Model):
    """A membership tier; customers qualify for it by reaching its threshold."""

    name = models.CharField(_("name"), max_length=80)
    code = models.SlugField(_("code"), max_length=40, unique=True)
    level = models.PositiveSmallIntegerField(_("level"), unique=True)
    threshold = models.DecimalField(_("qualifying threshold"), max_digits=14, decimal_places=2)
    benefits = models.TextField(_("benefits"), blank=True)
    points_multiplier = models.DecimalField(
        _("points multiplier"), max_digits=4, decimal_places=2, default=1
    )
    colour = models.CharField(_("colour"), max_length=20, choices=Colour, default=Colour.GREY)
    is_default = models.BooleanField(_("default rank for new members"), default=False)

    class Meta:
        ordering = ["level"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="rank_single_default"
            ),
            models.CheckConstraint(condition=Q(threshold__gte=0), name="rank_threshold_gte_0"),
        ]

    def __str__(self):
        return self.name


class RankPolicy(models.Model):
    """How ranks are earned and kept; a single row (pk=1), edited by administrators."""

    class Basis(models.TextChoices):
        POINTS = "points", _("points earned")
        SPEND = "spend", _("spend")

    class Window(models.TextChoices):
        LIFETIME = "lifetime", _("over the membership's lifetime")
        ROLLING_12_MONTHS = "rolling_12", _("in the last 12 months")
        CALENDAR_YEAR = "calendar_year", _("in the current calendar year")

    class Downgrade(models.TextChoices):
        NEVER = "never", _("never")
        AT_EVALUATION = "at_evaluation", _("at the next evaluation")
        GRACE = "grace", _("after a grace period")

    basis = models.CharField(
        _("ranks are earned by"), max_length=10, choices=Basis, default=Basis.SPEND
    )
    window = models.CharField(
        _("counted"), max_length=16, choices=Window, default=Window.ROLLING_12_MONTHS
    )
    downgrade = models.CharField(
        _("members drop to a lower rank"), max_length=16, choices=Downgrade, default=Downgrade.GRACE
    )
    grace_days = models.PositiveIntegerField(_("grace period (days)"), default=90)
    last_recalculated_at = models.DateTimeField(_("last recalculation"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("rank policy")
        verbose_name_plural = _("rank policy")
        permissions = [("override_rank", _("Can set a customer's rank by hand"))]
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="rankpolicy_single_row"),
        ]

    def __str__(self):
        return self.sentence()

    @classmethod
    def current(cls) -> "RankPolicy":
        policy, _created = cls.objects.get_or_create(pk=1)
        return policy

    def sentence(self) -> str:
        """The policy in one sentence, as the overview page states it."""
        earned = _("Ranks are earned by %(basis)s %(window)s") % {
            "basis": self.get_basis_display(),
            "window": self.get_window_display(),
        }
        if self.downgrade == self.Downgrade.NEVER:
            kept = _("a member keeps a rank once reached")
        elif self.downgrade == self.Downgrade.AT_EVALUATION:
            kept = _("a member who falls below a rank drops at the next evaluation")
        else:
            kept = _("a member keeps a rank for %(days)s days after falling below it") % {
                "days": self.grace_days
            }
        return f"{earned}; {kept}."


class RankChange(models.Model):
    """One change of a customer's rank, and why. Names are copied so history outlives ranks."""

    class Reason(models.TextChoices):
        QUALIFICATION = "qualification", _("Qualified")
        DOWNGRADE = "downgrade", _("Fell below the threshold")
        GRACE_ENDED = "grace_ended", _("Grace period ended")
        OVERRIDE = "override", _("Set by hand")
        OVERRIDE_ENDED = "override_ended", _("Manual rank ended")
        RANK_DELETED = "rank_deleted", _("Rank deleted")
        IMPORT = "import", _("Import")
        NEW_MEMBER = "new_member", _("New member")

    # Indexed by rankchange_customer_idx (customer, -created_at); no index of its own.
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="rank_changes", db_index=False
    )
    from_rank = models.ForeignKey(
        Rank, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_rank = models.ForeignKey(
        Rank, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_name = models.CharField(_("from"), max_length=80, blank=True)
    to_name = models.CharField(_("to"), max_length=80, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason)
    note = models.CharField(_("note"), max_length=255, blank=True)
    qualifying_amount = models.DecimalField(
        _("qualifying amount"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="rankchange_customer_idx")]

    def __str__(self):
        return f"{self.from_name or '—'} → {self.to_name or '—'} ({self.get_reason_display()})"


class RankRecalculation(Job):
    """A recalculation of every customer's rank, run as a background job."""

    evaluated = models.PositiveIntegerField(default=0)
    upgraded = models.PositiveIntegerField(default=0)
    downgraded = models.PositiveIntegerField(default=0)
    grace_started = models.PositiveIntegerField(default=0)
    overrides_ended = models.PositiveIntegerField(default=0)

    task_name = "ranks.tasks.recalculate_ranks_task"
    retry_refusal = _("Only a failed recalculation can be retried.")

    class Meta(Job.Meta):
        constraints = [
            # At most one recalculation queued or running: every active row has the same key.
            models.UniqueConstraint(
                models.Case(
                    models.When(status__in=["queued", "running"], then=models.Value("active"))
                ),
                condition=models.Q(status__in=["queued", "running"]),
                name="rank_recalculation_one_active",
            )
        ]

    def __str__(self):
        return f"recalculation {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self):
        return reverse("ranks:recalculation", args=[self.pk])


class RankSimulation(models.Model):
    """A previewed change to the ladder or the policy: what it would do, and to whom."""

    proposal = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"simulation {self.pk}"


class RankSimulationMember(models.Model):
    """A customer the simulation would move (for "show me who" on the customer list)."""

    class Direction(models.TextChoices):
        UP = "up", _("Up")
        DOWN = "down", _("Down")

    simulation = models.ForeignKey(RankSimulation, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+")
    from_rank = models.ForeignKey(
        Rank, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    to_rank = models.ForeignKey(
        Rank, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    direction = models.CharField(max_length=4, choices=Direction)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["simulation", "direction", "customer"], name="ranksimmember_unique"
            )
        ]

    def __str__(self):
        return f"{self.customer_id} {self.direction}"
