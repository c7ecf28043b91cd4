from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from migration import fields as f
from migration.models import MappingProfile, MatchKey, Policy

ENCODINGS = [
    ("", _("Detect")),
    ("utf-8", "UTF-8"),
    ("utf-16", "UTF-16"),
    ("cp1258", _("Windows-1258 (Vietnamese)")),
    ("cp1252", _("Windows-1252 (Western)")),
]
DELIMITERS = [
    ("", _("Detect")),
    (",", _("Comma ,")),
    (";", _("Semicolon ;")),
    ("\t", _("Tab")),
    ("|", _("Bar |")),
]


class UploadForm(BootstrapFormMixin, forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("CSV or Excel (.xlsx); the first row must hold the column names."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.tsv,.xlsx"}),
    )
    encoding = forms.ChoiceField(label=_("Encoding (CSV)"), choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(label=_("Delimiter (CSV)"), choices=DELIMITERS, required=False)
    sheet = forms.CharField(
        label=_("Sheet (Excel)"),
        max_length=120,
        required=False,
        help_text=_("Leave empty for the first sheet."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_UPLOAD_MB
        if upload.size > limit * 1024 * 1024:
            raise ValidationError(
                _(
                    "The file is larger than %(limit)s MB; import it with "
                    "manage.py import_customers."
                ),
                params={"limit": limit},
                code="too_big",
            )
        return upload


class MappingForm(BootstrapFormMixin, forms.Form):
    """One choice per file column, plus the run's options."""

    match_key = forms.ChoiceField(
        label=_("Match existing customers by"),
        choices=MatchKey.choices,
        help_text=_("Rows with a known key update that customer; the others are created."),
    )
    policy = forms.ChoiceField(
        label=_("When a row is invalid"), choices=Policy.choices, widget=forms.RadioSelect
    )
    create_tags = forms.BooleanField(label=_("Create tags that do not exist yet"), required=False)
    empty_clears = forms.BooleanField(
        label=_("Empty cells clear the stored value"),
        required=False,
        help_text=_("Otherwise an empty cell leaves the customer's value as it is."),
    )
    save_profile = forms.CharField(
        label=_("Save this mapping as"),
        max_length=80,
        required=False,
        help_text=_("A name to reuse the mapping for the next file from the same system."),
    )

    def __init__(self, *args, headers, samples, definitions, **kwargs):
        super().__init__(*args, **kwargs)
        self.headers = headers
        choices = [("", _("— ignore this column —")), *f.target_choices(definitions)]
        self.columns = []
        for position, header in enumerate(headers):
            name = f"col_{position}"
            self.fields[name] = forms.ChoiceField(
                label=header or f"#{position + 1}", choices=choices, required=False
            )
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
            self.columns.append(
                {
                    "field": self[name],
                    "header": header or f"#{position + 1}",
                    "samples": [
                        f.text(row[position]) if position < len(row) else "" for row in samples
                    ],
                }
            )

    def clean_save_profile(self):
        name = self.cleaned_data.get("save_profile", "").strip()
        if name and MappingProfile.objects.filter(name__iexact=name).exists():
            raise ValidationError(
                _("A mapping profile named “%(name)s” exists; choose another name."),
                params={"name": name},
                code="duplicate",
            )
        return name

    def mapping(self) -> dict[str, str]:
        return {
            str(position): self.cleaned_data[f"col_{position}"]
            for position in range(len(self.headers))
            if self.cleaned_data.get(f"col_{position}")
        }


class UndoForm(BootstrapFormMixin, forms.Form):
    force = forms.BooleanField(
        label=_("Also restore customers changed by someone else since the import"),
        required=False,
    )
