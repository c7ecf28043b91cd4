"""A customer's own data as one workbook, on their access request (POST: it is logged)."""

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from console.subject_access import subject_access_workbook
from customers import access_log, services
from customers.models import Customer, CustomerEvent

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SubjectAccessView(PermissionRequiredMixin, View):
    permission_required = "customers.export_personal_data"
    raise_exception = True

    def post(self, request, pk):
        customer = get_object_or_404(Customer, pk=pk)
        content = subject_access_workbook(customer)
        access_log.record(
            user=request.user,
            kind=access_log.Kind.EXPORTED,
            customer=customer,
            detail=_("All their data, for an access request"),
        )
        services.record_event(
            customer=customer,
            kind=CustomerEvent.Kind.EXPORTED,
            actor=request.user,
            message=_("Their data exported for an access request"),
        )
        response = HttpResponse(content, content_type=XLSX)
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        name = f"personal-data-{customer.member_number or customer.pk}-{stamp}.xlsx"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
