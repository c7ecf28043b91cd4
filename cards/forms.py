from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from cards import services
from cards.models import CardBatch, CardStatus
from core.forms import BootstrapFormMixin
from customers.models import Store
from customers.phone import normalise_phone

TYPED_DATE_FORMATS = ["%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%Y-%m-%d"]


def typed_date() -> forms.DateInput:
    return forms.DateInput(
        format="%d/%m/%Y",
        attrs={"inputmode": "numeric", "placeholder": "DD/MM/YYYY", "autocomplete": "off"},
    )


class ActivationForm(BootstrapFormMixin, forms.Form):
    """The counter's one form, in the order a clerk reads a passport: card, passport, name,
    stay, contact. Every field answers the keyboard; Enter submits."""

    number = forms.CharField(
        label=_("Card number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "numeric"}),
        help_text=_("Type it or scan it."),
    )
    passport_number = forms.CharField(label=_("Passport number"), max_length=30)
    # A plain select: the browser's own type-ahead finds a country by its first letters and
    # leaves the focus where the clerk's Tab put it (a scripted picker took it back at times).
    nationality = forms.ChoiceField(
        label=_("Nationality"),
        choices=[],
        help_text=_("Type the first letters of the country."),
    )
    full_name = forms.CharField(
        label=_("Full name as in the passport"), max_length=160, help_text=_("Surname first.")
    )
    # Typed dates, as on the passport and the ticket: faster at the counter than a picker's
    # parts, and the same keys in every browser.
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        required=False,
        input_formats=TYPED_DATE_FORMATS,
        widget=typed_date(),
        help_text=_("DD/MM/YYYY"),
    )
    arrival = forms.DateField(
        label=_("Arrival"),
        input_formats=TYPED_DATE_FORMATS,
        widget=typed_date(),
        help_text=_("DD/MM/YYYY"),
    )
    departure = forms.DateField(
        label=_("Departure"),
        input_formats=TYPED_DATE_FORMATS,
        widget=typed_date(),
        help_text=_("DD/MM/YYYY"),
    )
    phone = forms.CharField(label=_("Mobile number"), required=False, max_length=30)
    email = forms.EmailField(label=_("Email"), required=False)
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["nationality"].choices = [("", _("— choose —")), *countries]
        self.fields["store"].queryset = Store.objects.order_by("name")

    def clean_number(self):
        try:
            return services.card_in_stock(self.cleaned_data["number"]).number
        except ValidationError as error:
            raise ValidationError(error.messages) from error

    def clean_passport_number(self):
        return services.normalise_passport(self.cleaned_data["passport_number"])

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        return normalise_phone(phone) if phone else ""

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()

    def clean(self):
        data = super().clean()
        if data.get("arrival") and data.get("departure"):
            try:
                services.check_stay(
                    arrival=data["arrival"],
                    departure=data["departure"],
                    today=timezone.localdate(),
                )
            except ValidationError as error:
                self.add_error("departure", error)
        return data

    def traveller(self) -> dict:
        names = ("passport_number", "nationality", "full_name", "date_of_birth", "arrival")
        return {name: self.cleaned_data[name] for name in (*names, "departure", "phone", "email")}


class CardFilterForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Card or passport number"), required=False, max_length=32)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=[])
    nationality = forms.ChoiceField(
        label=_("Nationality"),
        required=False,
        choices=[],
        widget=forms.Select(attrs={"data-picker": ""}),
    )
    batch = forms.ModelChoiceField(
        label=_("Batch"), required=False, queryset=CardBatch.objects.none(), empty_label=_("Any")
    )
    store = forms.ModelChoiceField(
        label=_("Store"), required=False, queryset=Store.objects.none(), empty_label=_("Any")
    )
    activated_from = forms.DateField(
        label=_("Activated from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    activated_to = forms.DateField(
        label=_("Activated to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_until_from = forms.DateField(
        label=_("Valid until from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    valid_until_to = forms.DateField(
        label=_("Valid until to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("Any status")), *CardStatus.choices]
        self.fields["nationality"].choices = [("", _("Any nationality")), *countries]
        self.fields["batch"].queryset = CardBatch.objects.order_by("-created_at")
        self.fields["store"].queryset = Store.objects.order_by("name")


class BatchForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    prefix = forms.CharField(
        label=_("Number prefix"), max_length=8, help_text=_("1 to 8 digits, printed first.")
    )
    size = forms.IntegerField(
        label=_("Cards"), min_value=1, max_value=services.MAX_BATCH, initial=1000
    )
    validity_days = forms.IntegerField(
        label=_("Valid days after departure"), min_value=0, max_value=365, initial=30
    )
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.order_by("name")

    def clean_prefix(self):
        prefix = self.cleaned_data["prefix"].strip()
        services.check_prefix(prefix)
        return prefix

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if CardBatch.objects.filter(name__iexact=name).exists():
            raise ValidationError(_("A batch with this name exists."), code="duplicate")
        return name


class ExtendForm(BootstrapFormMixin, forms.Form):
    valid_until = forms.DateField(
        label=_("New last day of validity"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea({"rows": 2}))


class VoidForm(BootstrapFormMixin, forms.Form):
    WHY = [
        ("lost", _("Lost")),
        ("stolen", _("Stolen")),
        ("mistake", _("Issued by mistake")),
        ("damaged", _("Damaged")),
    ]
    why = forms.ChoiceField(label=_("Why"), choices=WHY, widget=forms.RadioSelect)
    note = forms.CharField(
        label=_("Note"), required=False, max_length=500, widget=forms.Textarea({"rows": 2})
    )

    def reason(self) -> str:
        label = str(dict(self.WHY)[self.cleaned_data["why"]])
        note = self.cleaned_data["note"].strip()
        return f"{label}: {note}" if note else label


class ReplaceForm(BootstrapFormMixin, forms.Form):
    new_number = forms.CharField(
        label=_("New card number"),
        max_length=32,
        widget=forms.TextInput(attrs={"autofocus": True, "inputmode": "numeric"}),
        help_text=_("A card in stock; type it or scan it."),
    )
    reason = forms.CharField(
        label=_("Reason"), max_length=500, initial=_("Lost"), widget=forms.Textarea({"rows": 2})
    )

    def clean_new_number(self):
        try:
            return services.card_in_stock(self.cleaned_data["new_number"]).number
        except ValidationError as error:
            raise ValidationError(error.messages) from error


class ConvertForm(forms.Form):
    """Nothing to type: the page explains what happens and the button confirms."""


STOCK_FILE_MAX_MB = 20


class StockFileForm(BootstrapFormMixin, forms.Form):
    """A batch of pre-printed cards: their numbers in the first column of a CSV or Excel file.
    It shares the stock page with BatchForm, hence its prefix."""

    prefix = "stock"

    name = forms.CharField(label=_("Name"), max_length=120)
    file = forms.FileField(
        label=_("Numbers file"),
        help_text=_("CSV or Excel (.xlsx): a header row, then one card number per row."),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )
    validity_days = forms.IntegerField(
        label=_("Valid days after departure"), min_value=0, max_value=365, initial=30
    )
    store = forms.ModelChoiceField(label=_("Store"), queryset=Store.objects.none(), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = Store.objects.order_by("name")

    clean_name = BatchForm.clean_name

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > STOCK_FILE_MAX_MB * 1024 * 1024:
            raise ValidationError(
                _("The file is larger than %(limit)s MB."),
                params={"limit": STOCK_FILE_MAX_MB},
                code="too_big",
            )
        return upload
