from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty_admin.palette import Colour


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
