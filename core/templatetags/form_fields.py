"""`{% field form.name %}`: a form field in the app's layout (core.forms.field_html);
`|money`: an amount with the configured currency."""

from django import template

from core.forms import field_html
from core.money import money

register = template.Library()


@register.simple_tag(name="field")
def field_tag(bound_field):
    return field_html(bound_field)


@register.filter(name="money")
def money_filter(value):
    """An amount with the configured currency ("1,234,000 ₫")."""
    return money(value)
