"""Password links: staff send one, the customer sets a password through it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView

from console.forms import (
    SetPasswordForm,
)
from customers import services
from customers.models import (
    Customer,
)


class SendPasswordResetView(PermissionRequiredMixin, View):
    permission_required = "customers.send_password_reset"
    raise_exception = True

    def post(self, request, pk):
        customer = get_object_or_404(Customer, pk=pk)
        try:
            services.send_password_reset_link(customer=customer, actor=request.user)
            messages.success(
                request,
                _("A password-reset link was emailed to %(email)s.") % {"email": customer.email},
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect(customer)


@method_decorator(login_not_required, name="dispatch")
class CustomerSetPasswordView(FormView):
    """Public page a customer reaches from the emailed link; no staff login involved."""

    form_class = SetPasswordForm
    template_name = "customers/public/set_password.html"

    def dispatch(self, request, *args, **kwargs):
        self.link = services.usable_reset_link(kwargs["token"])
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.link is None:
            return render(request, "customers/public/link_invalid.html", status=410)
        return super().get(request, *args, **kwargs)

    def form_valid(self, form):
        try:
            services.set_password_with_link(
                token=self.kwargs["token"], password=form.cleaned_data["password1"]
            )
        except ValidationError:
            return render(self.request, "customers/public/link_invalid.html", status=410)
        return render(self.request, "customers/public/password_set.html")
