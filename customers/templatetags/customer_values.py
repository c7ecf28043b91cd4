"""How customer values read on pages, as the customer list shows them."""

from django import template

from customers.phone import format_phone

register = template.Library()


@register.filter(name="phone")
def phone_filter(value):
    """A stored (E.164) phone number, formatted: "+84 912 345 678"."""
    return format_phone(value) if value else "—"
