"""The peer: a stock Django admin changelist for customers, registered only for the benchmark.

It is what a team would write in ten minutes with Django's admin: list_display, list_filter on
rank / status / city and search_fields on name / email / phone. Nothing is tuned beyond
select_related for the rank column and the page size our list uses, so the two pages show the
same number of rows.
"""

from django.contrib import admin

from customers.models import Customer


class PeerSite(admin.AdminSite):
    """The stock admin site (active staff members; each model's view permission); served
    only under the benchmark's own URLs (bench.urls)."""

    site_header = "Peer (stock Django admin)"


peer_site = PeerSite(name="peer_admin")


@admin.register(Customer, site=peer_site)
class CustomerPeerAdmin(admin.ModelAdmin):
    list_display = (
        "member_number", "last_name", "first_name", "email", "phone", "rank", "city",
        "status", "points_balance", "total_spent", "joined_at",
    )  # fmt: skip
    list_filter = ("rank", "status", "city")
    search_fields = ("first_name", "last_name", "email", "phone")
    list_select_related = ("rank",)
    list_per_page = 50
