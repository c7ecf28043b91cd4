"""The ranks app's criteria in the one filter language: rank, manual rank, rank preview."""

import django_filters as filters
from django import forms
from django.core.validators import RegexValidator
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from customers.filters import ModelChoicesFilter, add_criteria, every
from ranks.models import Rank, RankSimulationMember


def _manual_rank(queryset, name, value):
    return queryset.filter(rank_overridden=value)


def _rank_preview(queryset, name, value):
    """ "<simulation id>-up|down": the members a previewed rank change would move."""
    simulation, _sep, direction = value.partition("-")
    members = RankSimulationMember.objects.filter(
        simulation_id=int(simulation), direction=direction, customer=OuterRef("pk")
    )
    return queryset.filter(Exists(members))


def register() -> None:
    add_criteria(
        {
            "rank": ModelChoicesFilter(
                label=_("Rank"), queryset=every(Rank), field_name="rank", distinct=False
            ),
            "manual_rank": filters.BooleanFilter(
                label=_("Rank set manually"),
                method=_manual_rank,
                widget=forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
            ),
        },
        after="joined",
        section="membership",
    )
    add_criteria(
        {
            "rank_preview": filters.CharFilter(
                label=_("Rank change preview"),
                method=_rank_preview,
                widget=forms.HiddenInput,
                validators=[
                    RegexValidator(
                        r"^[0-9]{1,18}-(up|down)$", _("This rank preview link is not valid.")
                    )
                ],
            )
        }
    )
