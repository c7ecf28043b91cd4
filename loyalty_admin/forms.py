"""Form styling shared by every app's forms."""

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.safestring import mark_safe


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


def _render_select(widget, name, value, attrs=None, renderer=None):
    """Render a select in Python. Django renders each option through a template include,
    ~15 µs an option; the filter panel has hundreds (stores, tags), measured in `make bench`.
    Same markup as Django's templates."""
    context = widget.get_context(name, value, attrs)["widget"]
    groups = []
    for group_name, options, _index in context["optgroups"]:
        html = "".join(
            format_html(
                '<option value="{}"{}>{}</option>',
                "" if option["value"] is None else str(option["value"]),
                mark_safe(" selected") if option["selected"] else "",
                option["label"],
            )
            for option in options
        )
        if group_name:
            html = format_html('<optgroup label="{}">{}</optgroup>', group_name, mark_safe(html))  # noqa: S308
        groups.append(html)
    return format_html(
        '<select name="{}"{}>{}</select>',
        context["name"],
        flatatt(context["attrs"]),
        mark_safe("".join(groups)),  # noqa: S308 - every option escaped above
    )


class FastSelect(forms.Select):
    render = _render_select


class FastSelectMultiple(forms.SelectMultiple):
    render = _render_select


def _style(widget) -> None:
    if isinstance(widget, forms.CheckboxSelectMultiple | forms.RadioSelect):
        return
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.SelectMultiple):
        if type(widget) is forms.SelectMultiple:
            widget.__class__ = FastSelectMultiple
        css = "form-select"
        # Enhanced into a searchable picker by static/js/app.js (Tom Select).
        widget.attrs.setdefault("data-picker", "")
    elif isinstance(widget, forms.Select):
        if type(widget) is forms.Select:
            widget.__class__ = FastSelect
        css = "form-select"
    else:
        css = "form-control"
    widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


class FilterForm(BootstrapFormMixin, forms.Form):
    """Base form for django-filter FilterSets."""
