"""`{% field form.name %}`: a form field in the app's layout (loyalty_admin.forms.field_html)."""

from django import template

from loyalty_admin.forms import field_html

register = template.Library()


@register.simple_tag(name="field")
def field_tag(bound_field):
    return field_html(bound_field)
