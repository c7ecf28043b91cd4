"""Bulk changes run in the background: their outcome, or why they failed, and retry."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import ListView

from core.views import RetryJobMixin
from customers.models import BulkChange


def changes_for(user):
    """Everyone's bulk changes for who may see them all, else the user's own."""
    queryset = BulkChange.objects.select_related("created_by")
    if not user.has_perm("customers.view_bulkchange"):
        queryset = queryset.filter(created_by=user)
    return queryset


class BulkChangeListView(PermissionRequiredMixin, ListView):
    permission_required = "customers.view_customer"
    raise_exception = True
    template_name = "customers/change_list.html"
    paginate_by = 25

    def get_queryset(self):
        return changes_for(self.request.user)


class BulkChangeRetryView(PermissionRequiredMixin, RetryJobMixin, View):
    """POST: queue a failed bulk change again (its filter selects the customers anew)."""

    permission_required = "customers.view_customer"
    raise_exception = True
    queued_message = _("The change was queued again.")

    @staticmethod
    def retry_job(job):
        job.retry()

    def get_job(self):
        return get_object_or_404(changes_for(self.request.user), pk=self.kwargs["pk"])
