"""Deleting, archiving, anonymising and restoring a customer."""

from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView

from console.forms import (
    AnonymiseForm,
)
from customers import services
from customers.models import (
    Customer,
)


class CustomerDeleteView(PermissionRequiredMixin, View):
    """Confirm, then delete (no history) or archive (history kept, restorable)."""

    permission_required = "customers.delete_customer"
    raise_exception = True
    template_name = "customers/customer_confirm_delete.html"

    @cached_property
    def customer(self):  # read after the permission check: no 404-or-403 tells who exists
        return get_object_or_404(Customer, pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        return render(
            request,
            self.template_name,
            {
                "customer": self.customer,
                "has_history": services.customer_has_history(self.customer),
                "anonymise_form": AnonymiseForm(),
            },
        )

    def post(self, request, *args, **kwargs):
        customer = self.customer
        action = request.POST.get("action")
        try:
            if action == "delete":
                services.customer_delete(customer=customer, actor=request.user)
                messages.success(request, _("The customer was deleted."))
                return redirect("customers:list")
            if action == "archive":
                if not request.user.has_perm("customers.archive_customer"):
                    raise PermissionDenied
                services.customer_archive(customer=customer, actor=request.user)
                messages.success(
                    request, _("The customer was archived; restore it from the Archived view.")
                )
                return redirect(customer)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("customers:delete", pk=customer.pk)
        messages.error(request, _("Choose what to do with the record."))
        return redirect("customers:delete", pk=customer.pk)


class CustomerAnonymiseView(PermissionRequiredMixin, FormView):
    permission_required = "customers.erase_customer"
    raise_exception = True
    form_class = AnonymiseForm
    template_name = "customers/customer_anonymise.html"

    @cached_property
    def customer(self):  # read after the permission check: no 404-or-403 tells who exists
        return get_object_or_404(Customer, pk=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(customer=self.customer, **kwargs)

    def form_valid(self, form):
        try:
            services.customer_anonymise(
                customer=self.customer, reason=form.cleaned_data["reason"], actor=self.request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, _("The customer's personal data was erased."))
        return redirect(self.customer)


class CustomerRestoreView(PermissionRequiredMixin, View):
    permission_required = "customers.archive_customer"
    raise_exception = True

    def post(self, request, pk):
        customer = get_object_or_404(Customer, pk=pk)
        try:
            services.customer_restore(customer=customer, actor=request.user)
            messages.success(request, _("The customer was restored."))
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect(customer)
