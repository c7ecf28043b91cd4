from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapFormMixin
from tags import services
from tags.models import Tag


class TagForm(BootstrapFormMixin, forms.ModelForm):
    preset = forms.ChoiceField(
        label=_("Start from a built-in rule"),
        required=False,
        choices=[("", "—"), *services.BUILT_IN_RULES],
        help_text=_("Fills the rule; change its numbers (days, times) in the rule."),
    )

    class Meta:
        model = Tag
        fields = ["name", "colour", "description", "kind", "rule"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "rule": forms.TextInput(attrs={"placeholder": "purchased_days=30&city=Hà Nội"}),
        }
        help_texts = {
            "rule": _(
                "The customer list's filter, as in its address after “?”: filter the list and "
                "use “Save as automatic tag” there, or pick a built-in rule."
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].required = False  # manual unless chosen
        if self.instance.pk:  # a tag keeps its kind: its assignments came from it
            self.fields["kind"].disabled = True

    def _get_validation_exclusions(self):
        # The case-insensitive name check is services.check_name's, with a clearer message.
        exclude = super()._get_validation_exclusions()
        exclude.add("name")
        return exclude

    def clean_kind(self):
        return self.cleaned_data.get("kind") or Tag.Kind.MANUAL

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == Tag.Kind.AUTOMATIC:
            rule = cleaned.get("rule") or cleaned.get("preset") or ""
            try:
                cleaned["rule"] = services.check_rule(rule)
            except ValidationError as error:
                self.add_error("rule", error.message_dict["rule"])
        else:
            cleaned["rule"] = ""
        if "rule" in cleaned:
            self.instance.rule = cleaned["rule"]
        return cleaned


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


class BulkTagsForm(AssignTagsForm):
    """The list's bulk bar: manual tags to add to or remove from the customers picked."""

    tag_action = forms.CharField(required=False)

    def clean_tags(self):
        tags = list(self.cleaned_data["tags"])
        services.refuse_automatic(tags)
        return tags

    def clean_tag_action(self):
        return "remove" if self.cleaned_data.get("tag_action") == "remove" else "add"
