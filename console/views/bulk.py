"""Bulk status changes and archiving from the customer list."""

from django import forms
from django.utils.translation import gettext_lazy, ngettext

from console.forms import (
    BulkStatusForm,
)
from customers import services
from customers.bulk import BulkActionView
from customers.tasks import bulk_archive_task, bulk_status_task


class BulkStatusView(BulkActionView):
    """Confirm, then set the status of the selected or all matching customers."""

    permission_required = "customers.bulk_update_customer"
    form_class = BulkStatusForm
    template_name = "customers/bulk_status_confirm.html"
    invalid_message = gettext_lazy("Choose a status.")

    def apply(self, queryset, data, user) -> int:
        return services.bulk_set_status(queryset=queryset, status=data["status"], actor=user)

    def enqueue(self, query, data, user) -> None:
        bulk_status_task.enqueue(actor_id=user, query_string=query, status=data["status"])

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
        bulk_archive_task.enqueue(actor_id=user, query_string=query)

    def done_message(self, count, data) -> str:
        return ngettext("%(count)s customer archived.", "%(count)s customers archived.", count) % {
            "count": f"{count:,}"
        }
