"""Form styling shared by every app's forms."""

from django import forms
from django.core.exceptions import ValidationError
from django.forms.widgets import Input
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from core.html import conditional_escape, escape, flatatt

# The largest key a database id column holds (bigint; SQLite's INTEGER): a larger number in
# a query string is refused as invalid instead of overflowing the driver.
MAX_ID = 2**63 - 1


def is_id(value) -> bool:
    text = str(value)
    return 0 < len(text) <= 19 and text.isascii() and text.isdigit() and int(text) <= MAX_ID


def parse_ids(values) -> list[int]:
    """Row ids from a form's strings; ValidationError if any is not one."""
    values = [str(value).strip() for value in values if str(value).strip()]
    if not all(is_id(value) for value in values):
        raise ValidationError(_("The selection is not valid."), code="invalid")
    return [int(value) for value in values]


class BootstrapFormMixin:
    """Give every widget the Bootstrap 5 class for its kind, and a template-free renderer
    where Django's per-widget templates cost more than the page can spend (see `make bench`)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widgets = getattr(field.widget, "widgets", None)
            if widgets and all(isinstance(sub, Input) for sub in widgets):
                _fast_class(field.widget, _render_range)
            for widget in widgets or [field.widget]:
                _style(widget)

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                field = self.fields[name]
                for widget in getattr(field.widget, "widgets", [field.widget]):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                    widget.attrs["aria-invalid"] = "true"


def _plain_choices(choices):
    """Model choices without ModelChoiceIterator's server-side cursor (three round trips on
    PostgreSQL for a handful of ranks); other choices as they are."""
    field = getattr(choices, "field", None)
    if field is None or not hasattr(choices, "queryset"):
        return choices
    options = [("", field.empty_label)] if field.empty_label is not None else []
    return options + [(obj.pk, field.label_from_instance(obj)) for obj in list(choices.queryset)]


def _render_select(widget, name, value, attrs=None, renderer=None):
    """Render a select in Python, with the markup of Django's templates.

    Django renders each option through a template include and builds a context dict per
    option first; the customer filter panel has hundreds of options (stores, tags), which
    cost more than the rest of the page (docs/performance.md).
    """
    final_attrs = widget.build_attrs(widget.attrs, attrs)
    multiple = widget.allow_multiple_selected
    if multiple:
        final_attrs["multiple"] = True
    formatted = widget.format_value(value)  # a list, or one string (NullBooleanSelect)
    wanted = {formatted} if isinstance(formatted, str) else set(formatted)
    chosen = False

    def option(option_value, label) -> str:
        nonlocal chosen
        text = "" if option_value is None else str(option_value)
        selected = text in wanted and (multiple or not chosen)
        chosen = chosen or selected
        return (
            f'<option value="{escape(text)}"{" selected" if selected else ""}>'
            f"{escape(label)}</option>"
        )

    parts = [f'<select name="{escape(name)}"{flatatt(final_attrs)}>']
    for option_value, label in _plain_choices(widget.choices):
        if isinstance(label, list | tuple):
            parts.append(f'<optgroup label="{escape(option_value)}">')
            parts.extend(option(value, text) for value, text in label)
            parts.append("</optgroup>")
        else:
            parts.append(option(option_value, label))
    parts.append("</select>")
    return mark_safe("".join(parts))  # noqa: S308 - every value and label escaped above


def _input_html(context: dict) -> str:
    """Django's input.html for one widget context (every part escaped)."""
    shown = context["value"]
    value_attr = "" if shown is None else f' value="{escape(str(shown))}"'
    return (
        f'<input type="{escape(context["type"])}" name="{escape(context["name"])}"'
        f"{value_attr}{flatatt(context['attrs'])}>"
    )


def _render_input(widget, name, value, attrs=None, renderer=None):
    """An <input> with the markup of Django's input.html, without the template engine."""
    return mark_safe(_input_html(widget.get_context(name, value, attrs)["widget"]))  # noqa: S308


def _render_range(widget, name, value, attrs=None, renderer=None):
    """A from–to pair of inputs (django-filter's range widgets) in Python, with a dash
    between them as in django-filter's template."""
    subwidgets = widget.get_context(name, value, attrs)["widget"]["subwidgets"]
    dash = '<span class="input-group-text">–</span>'
    return mark_safe(dash.join(_input_html(context) for context in subwidgets))  # noqa: S308


_FAST_CLASSES: dict[type, type] = {}


def _fast_input(widget) -> None:
    """Render plain inputs in Python (swap in a subclass whose render skips the templates)."""
    if not widget.template_name.startswith("django/forms/widgets/") or isinstance(
        widget, forms.FileInput | forms.CheckboxInput
    ):
        return
    _fast_class(widget, _render_input)


def _fast_class(widget, render) -> None:
    cls = type(widget)
    if cls not in _FAST_CLASSES:
        _FAST_CLASSES[cls] = type(f"Fast{cls.__name__}", (cls,), {"render": render})
    widget.__class__ = _FAST_CLASSES[cls]


class FastSelect(forms.Select):
    render = _render_select


class FastSelectMultiple(forms.SelectMultiple):
    render = _render_select


class RemoteSelectMultiple(FastSelectMultiple):
    """A model multi-select whose options load as the user types (Tom Select, static/js/app.js).

    Only the selected options are in the page; the rest come from `options_url` (JSON). With
    hundreds of tags and stores the page stays small and cheap to render.
    """

    def __init__(self, options_url, attrs=None):
        super().__init__(attrs)
        self.options_url = options_url

    def build_attrs(self, base_attrs, extra_attrs=None):
        attrs = super().build_attrs(base_attrs, extra_attrs)
        attrs["data-options-url"] = str(self.options_url)
        return attrs

    def render(self, name, value, attrs=None, renderer=None):
        wanted = [v for v in self.format_value(value) if is_id(v)]
        queryset = getattr(self.choices, "queryset", None)
        full_choices = self.choices
        if queryset is not None:  # nothing chosen: no query to build (half a ms each)
            self.choices = (
                [(obj.pk, str(obj)) for obj in queryset.filter(pk__in=wanted)] if wanted else []
            )
        try:
            return _render_select(self, name, value, attrs, renderer)
        finally:
            self.choices = full_choices


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
        elif widget.template_name == forms.Select.template_name and not isinstance(
            widget, FastSelect
        ):  # NullBooleanSelect and django-filter's selects
            _fast_class(widget, _render_select)
        css = "form-select"
    else:
        if isinstance(widget, Input) and not hasattr(widget, "widgets"):
            _fast_input(widget)
        css = "form-control"
    widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


def field_html(field) -> SafeString:
    """One form field in the app's Bootstrap layout: label, widget, errors and help text.

    Every form's templates use it through `{% field %}` (core.templatetags.form_fields):
    one definition of the markup, rendered in Python because the customer filter panel alone
    has thirty fields, and a template include per field was a large share of the page.
    A from–to pair (django-filter's range widgets) becomes a fieldset with a legend.
    The help text and the errors carry the ids the widget's aria-describedby points to.
    """
    widget = str(field)
    if field.is_hidden:
        return mark_safe(widget)  # noqa: S308 - rendered by the widget, escaped there
    auto_id = escape(field.auto_id) if field.auto_id else ""
    label = conditional_escape(field.label)
    errors = "".join(
        f'<div class="invalid-feedback d-block">{conditional_escape(error)}</div>'
        for error in field.errors
    )
    if errors:
        errors = f'<div id="{auto_id}_error">{errors}</div>' if auto_id else errors
    help_text = ""
    if field.help_text:
        help_id = f' id="{auto_id}_helptext"' if auto_id else ""
        help_text = f'<div class="form-text"{help_id}>{conditional_escape(field.help_text)}</div>'
    widget_object = field.field.widget
    if hasattr(widget_object, "widgets"):  # a MultiWidget: from–to and the like
        html = (
            f'<fieldset class="mb-3"><legend class="form-label fs-6 mb-1">{label}</legend>'
            f'<div class="input-group input-group-sm range-inputs">{widget}</div>'
            f"{errors}{help_text}</fieldset>"
        )
    elif isinstance(widget_object, forms.CheckboxInput):
        html = (
            f'<div class="form-check mb-3">{widget}'
            f'<label class="form-check-label" for="{escape(field.id_for_label)}">{label}</label>'
            f"{errors}{help_text}</div>"
        )
    else:
        required = " required" if field.field.required else ""
        html = (
            f'<div class="mb-3"><label class="form-label{required}" '
            f'for="{escape(field.id_for_label)}">{label}</label>{widget}{errors}{help_text}</div>'
        )
    return mark_safe(html)  # noqa: S308 - labels, errors and help escaped above


class FilterForm(BootstrapFormMixin, forms.Form):
    """Base form for django-filter FilterSets: the app's field layout and widget classes."""
