"""Wholesale forms: the public application (and the staff's manual one), the corrections an
applicant sends through the one-time link, the decisions, the queue's filters, the conditions."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin, parse_ids
from customers.phone import normalise_phone
from wholesale import documents
from wholesale.models import (
    APPLICANT_FIELDS,
    DocumentKind,
    WholesaleApplication,
    WholesaleConditions,
)
from wholesale.selectors import TABS, document_labels
from wholesale.tax_id import normalise_tax_id

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"
MAX_VALUE = 10**13  # the column holds 14 digits


def _document_field(kind: DocumentKind, required: bool) -> forms.FileField:
    return forms.FileField(
        label=kind.label,
        required=required,
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT, "class": "form-control"}),
    )


class ApplicationFieldsMixin:
    """Cleaning shared by every form that takes an applicant's details."""

    def clean_phone(self):
        return normalise_phone(self.cleaned_data["phone"])

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean_tax_id(self):
        return normalise_tax_id(self.cleaned_data["tax_id"])

    def clean_business_name(self):
        return " ".join(self.cleaned_data["business_name"].split())

    def clean_expected_monthly_value(self):
        value = self.cleaned_data["expected_monthly_value"]
        if value is not None and value >= MAX_VALUE:
            raise ValidationError(_("Enter a realistic monthly value."), code="too_large")
        return value

    def document_files(self) -> list[tuple[str, object]]:
        """(kind, upload) for every document field that carries a file."""
        return [
            (name.removeprefix("doc_"), self.cleaned_data[name])
            for name in self.fields
            if name.startswith("doc_") and self.cleaned_data.get(name)
        ]

    def add_document_fields(self, required_kinds) -> None:
        for kind in DocumentKind:
            self.fields[f"doc_{kind.value}"] = _document_field(kind, kind.value in required_kinds)

    def clean_documents(self, existing: int = 0) -> None:
        for name in [name for name in self.fields if name.startswith("doc_")]:
            upload = self.cleaned_data.get(name)
            if upload:
                try:
                    documents.check_upload(upload)
                except ValidationError as error:
                    self.add_error(name, error)
        try:
            documents.check_count(existing, len(self.document_files()))
        except ValidationError as error:
            self.add_error(None, error)


class ApplicationForm(ApplicationFieldsMixin, BootstrapFormMixin, forms.ModelForm):
    """The public page's form; staff use it too (without the consent and honeypot rules)."""

    # A field people never see and bots fill in.
    website = forms.CharField(
        label=_("Leave this empty"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    class Meta:
        model = WholesaleApplication
        fields = [*APPLICANT_FIELDS, "message", "consent"]
        widgets = {
            "message": forms.Textarea(attrs={"rows": 3}),
            "phone": forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
            "email": forms.EmailInput(attrs={"autocomplete": "email"}),
            "tax_id": forms.TextInput(attrs={"inputmode": "numeric"}),
        }
        labels = {"consent": _("I agree to be contacted about this application")}
        help_texts = {"tax_id": _("10 digits, or 10 digits, a dash and 3 for a branch.")}

    def __init__(self, *args, conditions: WholesaleConditions, staff: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = staff
        self.fields["expected_monthly_value"].min_value = 0
        self.fields["expected_monthly_value"].widget.attrs["min"] = 0
        required = [] if staff else conditions.required_documents
        self.add_document_fields(required)
        self.fields["consent"].required = not staff
        if staff:
            del self.fields["website"]
            self.fields["consent"].label = _("The customer agreed to be contacted")

    @property
    def is_bot(self) -> bool:
        return bool(self.data.get("website"))

    def clean(self):
        cleaned = super().clean()
        self.clean_documents()
        return cleaned

    def application_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in [*APPLICANT_FIELDS, "message", "consent"]}


class MoreInformationForm(ApplicationFieldsMixin, BootstrapFormMixin, forms.ModelForm):
    """What an applicant corrects or adds through the one-time link."""

    class Meta:
        model = WholesaleApplication
        fields = APPLICANT_FIELDS

    def __init__(self, *args, existing_documents: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        self.existing_documents = existing_documents
        self.add_document_fields(())

    def clean(self):
        cleaned = super().clean()
        self.clean_documents(self.existing_documents)
        return cleaned

    def correction_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in APPLICANT_FIELDS}


class ApproveForm(BootstrapFormMixin, forms.Form):
    customer = forms.CharField(required=False, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Note (optional)"), required=False, max_length=1000, widget=forms.TextInput
    )

    def clean_customer(self):
        value = self.cleaned_data["customer"].strip()
        if value in ("", "new"):
            return None
        return parse_ids([value])[0]


class RejectForm(BootstrapFormMixin, forms.Form):
    template = forms.ChoiceField(label=_("Reason"), required=False)
    reason = forms.CharField(
        label=_("Or in your own words"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, reasons=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", _("— choose a reason —"))] + [
            (text, text) for text in reasons
        ]

    def clean(self):
        cleaned = super().clean()
        text = (cleaned.get("reason") or "").strip() or cleaned.get("template") or ""
        if not text:
            raise ValidationError(_("Choose a reason or write one."), code="reason")
        cleaned["text"] = text
        return cleaned


class InfoRequestForm(BootstrapFormMixin, forms.Form):
    needed = forms.CharField(
        label=_("What the applicant should add or correct"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ReasonForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=1000)


class BulkDecisionForm(BootstrapFormMixin, forms.Form):
    action = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    ids = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), required=False, max_length=2000)

    def clean_ids(self):
        ids = parse_ids(self.data.getlist("ids"))
        if not ids:
            raise ValidationError(_("Tick at least one application."), code="empty")
        if len(ids) > 500:
            raise ValidationError(_("Decide at most 500 applications at once."), code="many")
        return ids

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Give the reason the applicants will read."))
        return cleaned


class QueueFilterForm(BootstrapFormMixin, forms.Form):
    tab = forms.ChoiceField(choices=[(tab, tab) for tab in TABS], required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=120)
    city = forms.CharField(label=_("City"), required=False, max_length=80)
    submitted_from = forms.DateField(
        label=_("Submitted from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    submitted_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    reviewer = forms.ChoiceField(
        label=_("Reviewer"),
        required=False,
        choices=[("", _("Anyone")), ("me", _("Me")), ("none", _("Unassigned"))],
    )
    age = forms.ChoiceField(
        label=_("Age"),
        required=False,
        choices=[("", _("Any age")), ("overdue", _("Past the answer time"))],
    )


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ConditionsForm(BootstrapFormMixin, forms.ModelForm):
    required_documents = forms.MultipleChoiceField(
        label=_("Required documents"),
        choices=DocumentKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    reject_reasons = forms.CharField(
        label=_("Rejection reasons"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line; reviewers pick from them or write their own."),
    )

    class Meta:
        model = WholesaleConditions
        fields = [
            "min_first_order_value",
            "min_first_order_quantity",
            "required_documents",
            "discount_percent",
            "price_list",
            "payment_terms",
            "sla_hours",
            "reapply_days",
            "reject_reasons",
            "auto_approve",
        ]
        help_texts = {
            "auto_approve": _(
                "Approve a public application at once when its tax ID is valid, the required "
                "documents are there and its expected value reaches the minimum first order."
            ),
            "sla_hours": _("Applications older than this are marked overdue in the queue."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance:
            self.initial["reject_reasons"] = "\n".join(self.instance.reject_reasons or [])
        self.fields["sla_hours"].min_value = 1
        self.fields["sla_hours"].widget.attrs["min"] = 1

    def clean_reject_reasons(self):
        reasons = _lines(self.cleaned_data["reject_reasons"])
        if any(len(reason) > 300 for reason in reasons):
            raise ValidationError(_("Keep each reason under 300 characters."), code="long")
        return reasons

    def clean_sla_hours(self):
        value = self.cleaned_data["sla_hours"]
        if value < 1:
            raise ValidationError(_("Give at least one hour."), code="min")
        return value

    def conditions_data(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


def required_document_names(conditions) -> list[str]:
    return document_labels(conditions.required_documents)
