from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from audiences.selectors import audiences_for_list
from console.exports import export_column_choices
from console.models import ScheduledExport
from console.schedules import WEEKDAYS, check_cron, check_filename_pattern
from console.tables import column_choices
from core.forms import BootstrapFormMixin, parse_ids
from customers.custom_fields import from_json_value, to_json_value
from customers.models import Customer, CustomFieldDefinition, MarketingConsent, SavedView
from customers.phone import normalise_phone
from customers.selectors import customers_matching


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    """A local date and time to the second, so an unchanged value comes back unchanged."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__({"step": "1", **(attrs or {})}, format="%Y-%m-%dT%H:%M:%S")


def custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    kinds = CustomFieldDefinition.FieldType
    common = {"label": definition.label, "required": definition.required}
    if definition.field_type == kinds.NUMBER:
        return forms.DecimalField(**common)
    if definition.field_type == kinds.DATE:
        return forms.DateField(widget=DateInput, **common)
    if definition.field_type == kinds.CHOICE:
        return forms.ChoiceField(
            choices=[("", "---------"), *[(c, c) for c in definition.choices]], **common
        )
    if definition.field_type == kinds.BOOLEAN:
        return forms.BooleanField(**{**common, "required": False})
    return forms.CharField(max_length=255, **common)


class CustomerForm(BootstrapFormMixin, forms.ModelForm):
    """Create and edit a customer; admin-defined custom fields are added as typed fields."""

    member_number = forms.CharField(
        label=_("Member number"),
        max_length=20,
        required=False,
        help_text=_("Leave empty to generate one."),
    )

    class Meta:
        model = Customer
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "member_number",
            "old_member_id",
            "date_of_birth",
            "gender",
            "address",
            "city",
            "country",
            "customer_type",
            "status",
            "rank",
            "preferred_store",
            "referral_source",
            "referred_by",
            "joined_at",
        ]
        widgets = {"date_of_birth": DateInput, "joined_at": DateTimeInput}

    rank_reason = forms.CharField(
        label=_("Reason for the rank"),
        max_length=255,
        required=False,
        help_text=_("Needed when you choose a rank by hand; it goes into the rank history."),
    )

    consent_email = forms.BooleanField(label=_("Email"), required=False)
    consent_sms = forms.BooleanField(label=_("SMS"), required=False)
    consent_app = forms.BooleanField(label=_("App / Zalo"), required=False)
    consent_source = forms.ChoiceField(
        label=_("Consent given or withdrawn"),
        choices=[
            (MarketingConsent.Source.FORM, _("On a form")),
            (MarketingConsent.Source.COUNTER, _("At the counter")),
            (MarketingConsent.Source.REQUEST, _("At the customer's request")),
        ],
        required=False,
        help_text=_("Recorded with a change of consent, with the time."),
    )
    CONSENT_FIELDS = {
        "consent_email": MarketingConsent.Channel.EMAIL,
        "consent_sms": MarketingConsent.Channel.SMS,
        "consent_app": MarketingConsent.Channel.APP,
    }

    def __init__(self, *args, can_set_rank: bool = False, default_rank=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            agreed = set(
                self.instance.consents.filter(granted=True).values_list("channel", flat=True)
            )
            for name, channel in self.CONSENT_FIELDS.items():
                self.initial.setdefault(name, channel in agreed)
        # A rank chosen here is a manual rank: only those who may set one see the field, and
        # the view hands it to the rank service (history, marker), never to customer_update.
        self.rank_before = self.instance.rank_id if self.instance.pk else None
        if can_set_rank:
            self.fields["rank"].required = True
            if not self.instance.pk and default_rank is not None:
                self.rank_before = default_rank.pk  # what a new customer gets anyway
                self.initial.setdefault("rank", default_rank.pk)
        else:
            del self.fields["rank"], self.fields["rank_reason"]
        self.fields["referred_by"].widget = forms.TextInput(attrs={"class": "form-control"})
        self.fields["referred_by"].help_text = _("Member number of the referrer.")
        self.fields["referred_by"].to_field_name = "member_number"
        if self.instance.referred_by_id:
            self.initial["referred_by"] = self.instance.referred_by.member_number
        self.fields["referred_by"].error_messages["invalid_choice"] = _(
            "No customer has this member number."
        )
        if self.instance.pk:
            self.fields["member_number"].disabled = True
            self.fields["member_number"].help_text = ""
        self.custom_definitions = list(CustomFieldDefinition.objects.filter(is_active=True))
        stored = self.instance.custom_fields or {}
        for definition in self.custom_definitions:
            name = f"cf_{definition.key}"
            self.fields[name] = custom_form_field(definition)
            self.fields[name].widget.attrs.setdefault(
                "class",
                "form-check-input"
                if definition.field_type == CustomFieldDefinition.FieldType.BOOLEAN
                else "form-select"
                if definition.field_type == CustomFieldDefinition.FieldType.CHOICE
                else "form-control",
            )
            self.initial.setdefault(name, from_json_value(definition, stored.get(definition.key)))

    @property
    def custom_field_names(self) -> list[str]:
        return [f"cf_{definition.key}" for definition in self.custom_definitions]

    def _unique(self, field: str, value):
        if value in (None, ""):
            return None
        clash = Customer.objects.filter(**{field: value}).exclude(pk=self.instance.pk).first()
        if clash is not None:
            raise ValidationError(
                format_html(
                    '{} <a href="{}">{}</a>',
                    _("Another customer already has this %(field)s:")
                    % {"field": Customer._meta.get_field(field).verbose_name},
                    clash.get_absolute_url(),
                    clash.member_number,
                ),
                code="duplicate",
            )
        return value

    def clean_email(self):
        email = (self.cleaned_data.get("email") or "").strip().lower() or None
        return self._unique("email", email)

    def clean_phone(self):
        raw = (self.cleaned_data.get("phone") or "").strip()
        if not raw:
            return None
        return self._unique("phone", normalise_phone(raw))

    def clean_member_number(self):
        if self.instance.pk:
            return self.instance.member_number
        value = (self.cleaned_data.get("member_number") or "").strip().upper()
        return self._unique("member_number", value) or ""

    def clean_joined_at(self):
        # The form shows whole seconds; the same second as stored is the stored value.
        value = self.cleaned_data.get("joined_at")
        stored = self.instance.joined_at if self.instance.pk else None
        if value and stored and value == stored.replace(microsecond=0):
            return stored
        return value

    def clean_old_member_id(self):
        value = (self.cleaned_data.get("old_member_id") or "").strip() or None
        return self._unique("old_member_id", value)

    def rank_change(self):
        """(rank, reason) when the form chose a rank other than the customer's, else None."""
        if "rank" not in self.fields or "rank" not in self.changed_data:
            return None
        rank = self.cleaned_data.get("rank")
        if rank is None or rank.pk == self.rank_before:
            return None
        return rank, self.cleaned_data.get("rank_reason", "").strip()

    def clean(self):
        cleaned = super().clean()
        if "rank" in self.fields and self.rank_change() and not cleaned.get("rank_reason"):
            self.add_error("rank_reason", _("Say why this customer gets this rank by hand."))
        if not (
            cleaned.get("email")
            or cleaned.get("phone")
            or cleaned.get("member_number")
            or self.errors.keys() & {"email", "phone", "member_number"}
        ):
            raise ValidationError(
                _("Enter at least one of email, mobile number or member number."),
                code="no_identifier",
            )
        return cleaned

    # The identifier fields were checked in their clean_* methods with a link to the existing
    # customer; Django's own checks (their unique constraints) would query each again and
    # repeat the message without the link.
    IDENTIFIERS = {"email", "phone", "member_number", "old_member_id"}

    def validate_unique(self):
        try:
            self.instance.validate_unique(
                exclude=self._get_validation_exclusions() | self.IDENTIFIERS
            )
        except ValidationError as error:
            self._update_errors(error)

    def validate_constraints(self):
        try:
            self.instance.validate_constraints(
                exclude=self._get_validation_exclusions() | self.IDENTIFIERS
            )
        except ValidationError as error:
            self._update_errors(error)

    def consent_answers(self) -> dict[str, bool]:
        """{channel: agreed} as ticked on the form."""
        return {
            channel: bool(self.cleaned_data.get(name))
            for name, channel in self.CONSENT_FIELDS.items()
        }

    def service_data(self) -> dict:
        """Cleaned values as the customer services take them."""
        data = {
            name: self.cleaned_data[name]
            for name in self._meta.fields
            if name in self.cleaned_data and not self.fields[name].disabled and name != "rank"
        }
        custom = dict(self.instance.custom_fields or {})
        for definition in self.custom_definitions:
            value = to_json_value(self.cleaned_data.get(f"cf_{definition.key}"))
            unset_yes_no = value is False and definition.key not in custom
            if value in (None, "") or unset_yes_no:  # an unticked box leaves "unknown" alone
                custom.pop(definition.key, None)
            else:
                custom[definition.key] = value
        data["custom_fields"] = custom
        return data


class AnonymiseForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason for the erasure request"),
        max_length=255,
        help_text=_("For the record, e.g. the ticket number of the request."),
    )
    confirm = forms.BooleanField(
        label=_("I understand that the personal data is erased for good."), required=True
    )


class SetPasswordForm(BootstrapFormMixin, forms.Form):
    password1 = forms.CharField(
        label=_("New password"), widget=forms.PasswordInput, min_length=8, strip=False
    )
    password2 = forms.CharField(
        label=_("New password again"), widget=forms.PasswordInput, strip=False
    )

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("password1")
            and cleaned.get("password2")
            and cleaned["password1"] != cleaned["password2"]
        ):
            raise ValidationError(_("The two passwords differ."), code="mismatch")
        return cleaned


class ColumnsForm(forms.Form):
    columns = forms.MultipleChoiceField(
        label=_("Columns"), choices=column_choices, widget=forms.CheckboxSelectMultiple
    )


class ExportForm(BootstrapFormMixin, forms.Form):
    file_format = forms.ChoiceField(
        label=_("Format"), choices=[("xlsx", _("Excel (.xlsx)")), ("csv", _("CSV"))]
    )
    columns = forms.MultipleChoiceField(
        label=_("Columns"), widget=forms.CheckboxSelectMultiple, choices=()
    )
    query = forms.CharField(required=False, widget=forms.HiddenInput)
    ids = forms.CharField(required=False, widget=forms.HiddenInput)
    # "selected" (the ticked rows, which must not be none) or "all" matching the filter.
    scope = forms.ChoiceField(
        required=False,
        choices=[("all", "all"), ("selected", "selected")],
        widget=forms.HiddenInput,
    )
    # Present when this form itself was submitted (not the list's bulk bar arriving here).
    submitted = forms.CharField(required=False, widget=forms.HiddenInput, initial="1")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["columns"].choices = export_column_choices(user)

    def clean(self):
        # The query and the selection are hidden: their errors are the form's.
        cleaned = super().clean()
        try:
            cleaned["ids"] = parse_ids((cleaned.get("ids") or "").split(","))
        except ValidationError as error:
            raise ValidationError(error.messages) from None
        if cleaned.get("scope") == "selected" and not cleaned["ids"]:
            raise ValidationError(
                _("Select at least one customer, or choose all matching."), code="no_selection"
            )
        try:
            customers_matching(cleaned.get("query") or "")
        except ValidationError as error:
            raise ValidationError(
                _("The filter is not valid: %(why)s") % {"why": " ".join(error.messages)}
            ) from None
        return cleaned


class SavedViewForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = SavedView
        fields = ["name", "is_shared"]


class BulkStatusForm(BootstrapFormMixin, forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=Customer.Status.choices)


class ScheduledExportForm(BootstrapFormMixin, forms.ModelForm):
    """A scheduled export: what (a filter, a saved view or an audience, columns, format), when
    (daily / weekly / monthly at a local time, or cron) and where (folder and/or email)."""

    MAX_RECIPIENTS = 20

    columns = forms.MultipleChoiceField(
        label=_("Columns"), widget=forms.CheckboxSelectMultiple, choices=()
    )
    weekday = forms.TypedChoiceField(
        label=_("On"), required=False, coerce=int, empty_value=None, choices=()
    )

    class Meta:
        model = ScheduledExport
        fields = [
            "name",
            "source",
            "query_string",
            "saved_view",
            "audience",
            "columns",
            "file_format",
            "frequency",
            "time_of_day",
            "weekday",
            "day_of_month",
            "cron",
            "to_folder",
            "filename_pattern",
            "keep_files",
            "to_email",
            "recipients",
            "enabled",
        ]
        widgets = {
            "source": forms.RadioSelect,
            "query_string": forms.TextInput(attrs={"placeholder": "city=Huế&rank=3"}),
            "time_of_day": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "recipients": forms.Textarea(attrs={"rows": 2}),
            "cron": forms.TextInput(attrs={"placeholder": "0 7 * * 1-5"}),
        }
        help_texts = {
            "query_string": _("Copy it from the customer list's address, after the “?”."),
            "filename_pattern": _("{name}, {date}, {time} and {ext} are filled in."),
            "keep_files": _("Older files in the folder are deleted; 0 keeps them all."),
            "recipients": _("Email addresses, one per line or separated by commas."),
            "cron": _("Minute, hour, day of month, month, day of week — in local time."),
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        available = export_column_choices(user)
        self.fields["columns"].choices = available
        self.fields["weekday"].choices = [("", "—"), *WEEKDAYS]
        # Another's private view stays on offer to whoever edits a schedule already using it.
        self.fields["saved_view"].queryset = SavedView.objects.filter(
            Q(owner=user) | Q(is_shared=True) | Q(pk=self.instance.saved_view_id)
        )
        self.fields["audience"].queryset = audiences_for_list()
        keys = {key for key, _label in available}
        # Columns that no longer exist (a custom field deleted) are named, not silently kept.
        self.missing_columns = [key for key in self.instance.columns if key not in keys]
        if self.missing_columns and not self.is_bound:
            self.initial["columns"] = [key for key in self.instance.columns if key in keys]

    def clean_day_of_month(self):
        day = self.cleaned_data.get("day_of_month")
        if day is not None and not 1 <= day <= 31:
            raise ValidationError(_("A day of the month is 1 to 31."), code="bad_day")
        return day

    def clean_cron(self):
        cron = " ".join(self.cleaned_data.get("cron", "").split())
        if cron:
            check_cron(cron)
        return cron

    def clean_filename_pattern(self):
        pattern = self.cleaned_data.get("filename_pattern", "").strip()
        check_filename_pattern(pattern)
        return pattern

    def clean_recipients(self):
        recipients = self.cleaned_data.get("recipients", "").replace(",", "\n").split()
        bad = [address for address in recipients if not _is_email(address)]
        if bad:
            raise ValidationError(
                _("Not an email address: %(bad)s.") % {"bad": ", ".join(bad)}, code="bad_email"
            )
        if len(recipients) > self.MAX_RECIPIENTS:
            raise ValidationError(
                _("At most %(max)s recipients.") % {"max": self.MAX_RECIPIENTS}, code="too_many"
            )
        return "\n".join(dict.fromkeys(recipients))

    def clean(self):
        cleaned = super().clean()
        source = cleaned.get("source")
        Source, Frequency = ScheduledExport.Source, ScheduledExport.Frequency
        if source == Source.SAVED_VIEW and not cleaned.get("saved_view"):
            self.add_error("saved_view", _("Choose the saved view to export."))
        if source == Source.AUDIENCE and not cleaned.get("audience"):
            self.add_error("audience", _("Choose the audience to export."))
        if source == Source.FILTER:
            query = (cleaned.get("query_string") or "").strip().lstrip("?")
            cleaned["query_string"] = query
            try:
                customers_matching(query)
            except ValidationError as error:
                self.add_error(
                    "query_string",
                    _("The filter is not valid: %(why)s") % {"why": " ".join(error.messages)},
                )
        frequency = cleaned.get("frequency")
        if frequency == Frequency.CRON:
            if not cleaned.get("cron") and "cron" not in self.errors:
                self.add_error("cron", _("Type the cron expression."))
        elif frequency and not cleaned.get("time_of_day") and "time_of_day" not in self.errors:
            self.add_error("time_of_day", _("Give the local time it runs at."))
        if frequency == Frequency.WEEKLY and cleaned.get("weekday") is None:
            self.add_error("weekday", _("Choose the day of the week."))
        monthly = frequency == Frequency.MONTHLY
        if monthly and not cleaned.get("day_of_month") and "day_of_month" not in self.errors:
            self.add_error("day_of_month", _("Give the day of the month."))
        if not cleaned.get("to_folder") and not cleaned.get("to_email"):
            raise ValidationError(
                _("Choose where the file goes: the export folder, email, or both."),
                code="no_destination",
            )
        emailed = cleaned.get("to_email")
        if emailed and not cleaned.get("recipients") and "recipients" not in self.errors:
            self.add_error("recipients", _("Give at least one recipient for the email."))
        return cleaned


def _is_email(address: str) -> bool:
    try:
        validate_email(address)
    except ValidationError:
        return False
    return True
