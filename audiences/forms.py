from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from audiences.models import Audience
from core.forms import BootstrapFormMixin


class AudienceForm(BootstrapFormMixin, forms.ModelForm):
    """Name, description and — for a dynamic audience — its rule and freeze date. The rule is
    checked by the service (each criterion's reason); `everyone` confirms a rule that selects
    every customer."""

    everyone = forms.BooleanField(
        label=_("Yes, this audience is every customer"),
        required=False,
        widget=forms.HiddenInput,
    )

    class Meta:
        model = Audience
        fields = ["name", "description", "kind", "rule", "freeze_on"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "rule": forms.Textarea(attrs={"rows": 2, "spellcheck": "false"}),
            "freeze_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }
        help_texts = {
            "rule": _(
                "The customer list's filter, as its address shows it after “?”. Easier: filter "
                "the list, then “Save as audience”."
            ),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            # The kind changes only by freezing (dynamic → static).
            del self.fields["kind"]
            if self.instance.is_static:
                del self.fields["rule"], self.fields["freeze_on"]
        self.fields["name"].widget.attrs["autofocus"] = True

    def ask_everyone(self) -> None:
        """The rule selects everyone: show the confirmation box."""
        self.fields["everyone"].widget = forms.CheckboxInput(attrs={"class": "form-check-input"})


class SaveFromListForm(BootstrapFormMixin, forms.Form):
    """ "Save as audience" on the customer list: the current filter, as a rule or a snapshot."""

    name = forms.CharField(label=_("Name"), max_length=120)
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (Audience.Kind.DYNAMIC, _("Dynamic — whoever matches the filter from now on")),
            (Audience.Kind.STATIC, _("Static — a snapshot of who matches now")),
        ],
        initial=Audience.Kind.DYNAMIC,
        widget=forms.RadioSelect,
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput)


class MembersFileForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label=_("File of customers"),
        help_text=_(
            "CSV or Excel (.xlsx) with a header row; the first column holds member numbers, "
            "emails, mobile numbers or old member IDs."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    action = forms.ChoiceField(
        label=_("With these customers"),
        choices=[("add", _("Add them")), ("remove", _("Remove them"))],
        initial="add",
        widget=forms.RadioSelect,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(
                _("The file is larger than %(limit)s MB."), params={"limit": limit}, code="too_big"
            )
        return upload


class PickMembersForm(BootstrapFormMixin, forms.Form):
    identifiers = forms.CharField(
        label=_("Customers to add"),
        help_text=_("Member numbers, emails or mobile numbers, one per line (up to 500)."),
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        max_length=50_000,
    )

    def clean_identifiers(self):
        values = [line.strip() for line in self.cleaned_data["identifiers"].splitlines()]
        values = list(dict.fromkeys(value for value in values if value))
        if not values:
            raise ValidationError(_("Type at least one member number, email or mobile number."))
        if len(values) > 500:
            raise ValidationError(_("At most 500 at a time; upload a file for more."))
        return values


class BulkAudienceForm(forms.Form):
    """The customer list's "Add to audience…" / "Remove from audience…"."""

    audience = forms.ModelChoiceField(
        label=_("Audience"),
        queryset=Audience.objects.filter(kind=Audience.Kind.STATIC, archived=False),
        error_messages={"required": _("Choose a static audience.")},
    )
    audience_action = forms.ChoiceField(choices=[("add", "add"), ("remove", "remove")])


class AudienceSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=120)
    sort = forms.ChoiceField(
        required=False,
        choices=[
            ("name", _("Name")),
            ("-size", _("Largest first")),
            ("-updated_at", _("Last changed")),
            ("kind", _("Kind")),
        ],
    )
    archived = forms.BooleanField(required=False)


class WhyForm(forms.Form):
    who = forms.CharField(
        label=_("Member number, mobile number or email"), max_length=254, required=False
    )
