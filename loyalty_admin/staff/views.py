"""Administrators' staff pages: the list, adding an account, its details and role,
deactivation and the password link; and the page the link opens."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import FormView, TemplateView

from loyalty_admin.roles import ROLES
from loyalty_admin.staff import services
from loyalty_admin.staff.forms import PasswordSetForm, StaffFilterForm, StaffForm

PER_PAGE = 50


class StaffListView(PermissionRequiredMixin, TemplateView):
    permission_required = "auth.view_user"
    raise_exception = True
    template_name = "staff/staff_list.html"

    def get_context_data(self, **kwargs):
        form = StaffFilterForm(self.request.GET)
        data = form.cleaned_data if form.is_valid() else {}
        rows = get_user_model().objects.prefetch_related("groups").order_by("username")
        if data.get("q"):
            words = data["q"].split()
            for word in words:
                rows = rows.filter(
                    Q(username__icontains=word)
                    | Q(first_name__icontains=word)
                    | Q(last_name__icontains=word)
                    | Q(email__icontains=word)
                )
        if data.get("role"):
            rows = rows.filter(groups__name=data["role"])
        if data.get("active") == "no":
            rows = rows.filter(is_active=False)
        elif data.get("active") != "all":
            rows = rows.filter(is_active=True)
        page = Paginator(rows, PER_PAGE).get_page(self.request.GET.get("page"))
        for user in page:
            user.role = services.role_of(user)
        query = self.request.GET.copy()
        query.pop("page", None)
        return super().get_context_data(
            form=form,
            page=page,
            page_query=query.urlencode(),
            filtered=bool(data.get("q") or data.get("role") or data.get("active")),
            **kwargs,
        )


class StaffCreateView(PermissionRequiredMixin, FormView):
    permission_required = "auth.add_user"
    raise_exception = True
    template_name = "staff/staff_form.html"
    form_class = StaffForm

    def form_valid(self, form):
        user = services.create_staff(**form.cleaned_data, actor=self.request.user)
        try:
            services.send_password_link(user=user, actor=self.request.user)
        except services.LinkNotSent as error:
            messages.warning(
                self.request,
                _("%(name)s is added, but the email could not be sent (%(error)s): send it again.")
                % {"name": user.username, "error": error},
            )
        else:
            messages.success(
                self.request,
                _("%(name)s can sign in once they set a password with the link sent to %(email)s.")
                % {"name": user.username, "email": user.email},
            )
        return redirect("staff:detail", pk=user.pk)


class StaffDetailView(PermissionRequiredMixin, FormView):
    """An account's details and role (editable), last sign-in, and its actions."""

    permission_required = "auth.change_user"
    raise_exception = True
    template_name = "staff/staff_detail.html"
    form_class = StaffForm

    def dispatch(self, request, *args, **kwargs):
        self.person = get_object_or_404(get_user_model(), pk=kwargs["pk"])
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": self.person}

    def get_initial(self):
        person = self.person
        return {
            "first_name": person.first_name,
            "last_name": person.last_name,
            "email": person.email,
            "role": services.role_of(person) or ROLES[-1],
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            person=self.person, role=services.role_of(self.person), **kwargs
        )

    def form_valid(self, form):
        try:
            services.update_staff(user=self.person, **form.cleaned_data, actor=self.request.user)
        except ValidationError as error:
            form.add_error("role", error)
            return self.form_invalid(form)
        messages.success(self.request, _("%(name)s is saved.") % {"name": self.person.username})
        return redirect("staff:detail", pk=self.person.pk)


class StaffActionView(PermissionRequiredMixin, View):
    """POST only: deactivate, reactivate or send the password link; back to the account."""

    permission_required = "auth.change_user"
    raise_exception = True
    action = ""

    def post(self, request, pk):
        person = get_object_or_404(get_user_model(), pk=pk)
        try:
            if self.action == "send_link":
                services.send_password_link(user=person, actor=request.user)
                message = _("A link to set the password was sent to %(email)s.")
            else:
                active = self.action == "activate"
                services.set_active(user=person, active=active, actor=request.user)
                message = (
                    _("%(name)s can sign in again.")
                    if active
                    else _("%(name)s can no longer sign in.")
                )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except services.LinkNotSent as error:
            messages.error(
                request, _("The email could not be sent (%(error)s).") % {"error": error}
            )
        else:
            messages.success(request, message % {"name": person.username, "email": person.email})
        return redirect("staff:detail", pk=person.pk)


class PasswordSetView(auth_views.PasswordResetConfirmView):
    """The emailed link's page: the person chooses their password (public, token-guarded)."""

    template_name = "staff/password_set.html"
    form_class = PasswordSetForm
    success_url = reverse_lazy("staff_password_done")


class PasswordSetDoneView(auth_views.PasswordResetCompleteView):
    template_name = "staff/password_set_done.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(login_url=reverse("login"), **kwargs)
