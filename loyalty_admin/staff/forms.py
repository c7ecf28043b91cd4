from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from loyalty_admin.roles import ROLES


class StaffForm(BootstrapFormMixin, forms.Form):
    """A staff account's details and its one role; the username is set once, at creation."""

    username = forms.RegexField(
        label=_("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+$",
        error_messages={"invalid": _("Letters, digits and . @ + - _ only.")},
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(
        label=_("Email"), help_text=_("The link to set the password is sent here.")
    )
    role = forms.ChoiceField(
        label=_("Role"), choices=[("", _("— choose —")), *[(role, _(role)) for role in ROLES]]
    )

    def __init__(self, *args, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.instance = instance
        if instance is not None:
            del self.fields["username"]

    def clean_username(self):
        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError(_("This username is taken."), code="taken")
        return username

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        others = get_user_model().objects.filter(email__iexact=email)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise ValidationError(_("Another staff account has this email."), code="taken")
        return email


class StaffFilterForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Name, username or email"), required=False, max_length=150)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("Any role")), *[(r, _(r)) for r in ROLES]]
    )
    active = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Active")), ("no", _("Deactivated")), ("all", _("All"))],
    )


class PasswordSetForm(BootstrapFormMixin, SetPasswordForm):
    """Django's set-password form (its validators) in the app's layout."""
