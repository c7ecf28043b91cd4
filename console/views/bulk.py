"""Bulk status changes and archiving from the customer list."""

from django import forms
from django.utils.translation import gettext_lazy, ngettext

from console.forms import (
    BulkStatusForm,
)
from customers import services
from customers.bulk import BulkActionView, start_bulk_change
from customers.models import BulkChange


class BulkStatusView(BulkActionView):
    """Confirm, then set the status of the selected or all matching customers."""

    permission_required = "customers.bulk_update_customer"
    form_class = BulkStatusForm
    template_name = "customers/bulk_status_confirm.html"
    invalid_message = gettext_lazy("Choose a status.")

    def apply(self, queryset, data, user) -> int:
        return services.bulk_set_status(queryset=queryset, status=data["status"], actor=user)

    def enqueue(self, query, data, user) -> None:
        start_bulk_change(
            kind=BulkChange.Kind.STATUS,
            actor=user,
            query_string=query,
            parameters={"status": data["status"]},
        )

    def done_message(self, count, data) -> str:
        return ngettext(
            "%(count)s customer changed status.", "%(count)s customers changed status.", count
        ) % {"count": f"{count:,}"}


class BulkArchiveView(BulkActionView):
    """Confirm, then archive the selected or all matching customers (history kept)."""

    permission_required = "customers.archive_customer"
    form_class = forms.Form
    template_name = "customers/bulk_archive_confirm.html"

    def apply(self, queryset, data, user) -> int:
        return services.bulk_archive(queryset=queryset, actor=user)

    def enqueue(self, query, data, user) -> None:
        start_bulk_change(kind=BulkChange.Kind.ARCHIVE, actor=user, query_string=query)

    def done_message(self, count, data) -> str:
        return ngettext("%(count)s customer archived.", "%(count)s customers archived.", count) % {
            "count": f"{count:,}"
        }
