"""Reads about tags that other apps use."""

from tags.models import CustomerTag


def customer_tags(customer):
    """A customer's tags, by name, with who put each on."""
    return (
        CustomerTag.objects.filter(customer=customer)
        .select_related("tag", "assigned_by")
        .order_by("tag__name")
    )
