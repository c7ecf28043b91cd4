from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from ranks import services
from ranks.models import Rank, RankPolicy


class RankForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Rank
        fields = [
            "name",
            "code",
            "level",
            "threshold",
            "points_multiplier",
            "colour",
            "benefits",
            "is_default",
        ]
        widgets = {"benefits": forms.Textarea(attrs={"rows": 3})}
        help_texts = {
            "level": _("Higher levels are better ranks."),
            "threshold": _("What a member must reach, in the policy's unit (points or spend)."),
        }

    def _get_validation_exclusions(self):
        # Making a rank the default takes the flag from the old default (services.save_rank),
        # so the database's "single default" constraint is not a form error; validate_ladder
        # checks that exactly one rank is the default.
        exclude = super()._get_validation_exclusions()
        exclude.add("is_default")
        return exclude

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        candidate = self.instance
        for name in self.Meta.fields:
            setattr(candidate, name, cleaned.get(name, getattr(candidate, name)))
        try:
            services.validate_ladder(services.ladder_with(candidate))
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        return cleaned

    def proposal(self) -> dict:
        """The change as a simulation proposal (only threshold and level move members)."""
        pk = self.instance.pk
        if pk is None:
            return {}
        return {
            "thresholds": {str(pk): str(self.cleaned_data["threshold"])},
            "levels": {str(pk): self.cleaned_data["level"]},
        }


class PolicyForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = RankPolicy
        fields = ["basis", "window", "downgrade", "grace_days"]
        help_texts = {"grace_days": _("Used when members drop after a grace period.")}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("downgrade") == RankPolicy.Downgrade.GRACE and not cleaned.get("grace_days"):
            self.add_error("grace_days", _("Give the grace period in days (at least 1)."))
        return cleaned

    def proposal(self) -> dict:
        return {"policy": {name: self.cleaned_data[name] for name in self.Meta.fields}}


class DeleteRankForm(BootstrapFormMixin, forms.Form):
    move_to = forms.ModelChoiceField(
        label=_("Move its members to"), queryset=Rank.objects.none(), empty_label=None
    )

    def __init__(self, *args, rank: Rank, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["move_to"].queryset = Rank.objects.exclude(pk=rank.pk)
        self.fields["move_to"].initial = services.next_lower(rank)


class OverrideForm(BootstrapFormMixin, forms.Form):
    rank = forms.ModelChoiceField(label=_("Rank"), queryset=Rank.objects.all(), empty_label=None)
    reason = forms.CharField(label=_("Reason"), max_length=255)
    expires_at = forms.DateTimeField(
        label=_("Ends on"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave empty to keep it until someone ends it."),
    )

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise ValidationError(_("The end of a manual rank must be in the future."))
        return value
