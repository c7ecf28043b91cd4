"""Form styling shared by every app's forms."""

from django import forms


class BootstrapFormMixin:
    """Give every widget the Bootstrap 5 class for its kind."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            for widget in getattr(field.widget, "widgets", [field.widget]):
                _style(widget)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                field = self.fields[name]
                for widget in getattr(field.widget, "widgets", [field.widget]):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                    widget.attrs["aria-invalid"] = "true"


def _style(widget) -> None:
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
        return
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.SelectMultiple):
        css = "form-select"
        # Enhanced into a searchable picker by static/js/app.js (Tom Select).
        widget.attrs.setdefault("data-picker", "")
    elif isinstance(widget, forms.Select):
        css = "form-select"
    else:
        css = "form-control"
    widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class FilterForm(BootstrapFormMixin, forms.Form):
    """Base form for django-filter FilterSets."""
