from django import forms
from django.utils.translation import gettext_lazy as _

from loyalty_admin.forms import BootstrapFormMixin
from tags.models import Tag


class TagForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["name", "colour", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def _get_validation_exclusions(self):
        # The case-insensitive name check is services.check_name's, with a clearer message.
        exclude = super()._get_validation_exclusions()
        exclude.add("name")
        return exclude


class TagSearchForm(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Search"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort"),
        required=False,
        choices=[
            ("name", _("Name")),
            ("-customers", _("Most customers")),
            ("-created_at", _("Newest")),
            ("kind", _("Kind")),
        ],
    )


class AssignTagsForm(forms.Form):
    tags = forms.ModelMultipleChoiceField(queryset=Tag.objects.all())
