"""Saved views of the customer list: save, open, delete."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from console.forms import (
    SavedViewForm,
)
from console.results import chosen_columns
from console.tables import (
    CHOOSABLE_COLUMNS,
)
from customers import selectors
from customers.models import (
    ListPreference,
    SavedView,
)


class SavedViewCreateView(PermissionRequiredMixin, View):
    permission_required = "customers.view_customer"
    raise_exception = True

    def post(self, request):
        form = SavedViewForm(request.POST)
        query = request.POST.get("query", "")
        if form.is_valid():
            name = form.cleaned_data["name"]
            try:
                with transaction.atomic():  # a double submit: the constraint keeps one
                    SavedView.objects.create(
                        owner=request.user,
                        name=name,
                        is_shared=form.cleaned_data["is_shared"],
                        query_string=query,
                        columns=chosen_columns(request.user),
                    )
            except IntegrityError:
                messages.error(
                    request, _("You already have a view named “%(name)s”.") % {"name": name}
                )
            else:
                messages.success(request, _("View “%(name)s” saved.") % {"name": name})
        else:
            messages.error(request, _("Give the view a name."))
        return redirect(f"{reverse('customers:list')}?{query}")


class SavedViewOpenView(PermissionRequiredMixin, View):
    """Open a saved view: its columns become the user's (a write, so a POST), then its list."""

    permission_required = "customers.view_customer"
    raise_exception = True

    def post(self, request, pk):
        view = get_object_or_404(selectors.saved_views_for(request.user), pk=pk)
        if view.columns:
            ListPreference.objects.update_or_create(
                user=request.user,
                defaults={"columns": [c for c in view.columns if c in CHOOSABLE_COLUMNS]},
            )
        return redirect(f"{reverse('customers:list')}?{view.query_string}")


class SavedViewDeleteView(PermissionRequiredMixin, View):
    permission_required = "customers.view_customer"
    raise_exception = True

    def post(self, request, pk):
        view = get_object_or_404(SavedView, pk=pk, owner=request.user)
        view.delete()
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
        return redirect("customers:list")
