"""One customer: their page, and the create and edit forms."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import transaction
from django.http import (
    Http404,
    HttpResponseRedirect,
)
from django.utils.translation import gettext as _
from django.views.generic import CreateView, DetailView, UpdateView

from cards.selectors import cards_of
from console.forms import (
    CustomerForm,
)
from console.selectors import customer_timeline
from customers import access_log, selectors, services
from customers.custom_fields import from_json_value
from customers.models import (
    Customer,
    CustomFieldDefinition,
)
from ranks.forms import OverrideForm
from ranks.selectors import default_rank, why_this_rank
from ranks.services import set_override
from tags.selectors import customer_tags
from wholesale.selectors import applications_of


class CustomerDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "customers.view_customer"
    raise_exception = True
    model = Customer
    template_name = "customers/customer_detail.html"

    def get_object(self, queryset=None):
        try:
            return selectors.customer_detail(self.kwargs["pk"])
        except Customer.DoesNotExist:
            raise Http404 from None

    def get_context_data(self, **kwargs):
        customer = self.object
        definitions = CustomFieldDefinition.objects.filter(is_active=True)
        custom = [
            (d.label, from_json_value(d, customer.custom_fields.get(d.key)))
            for d in definitions
            if d.key in customer.custom_fields
        ]
        access_log.record(user=self.request.user, kind=access_log.Kind.VIEWED, customer=customer)
        why = why_this_rank(customer)
        override_form = OverrideForm(initial={"rank": customer.rank_id})
        if why:  # the ranks are loaded already: no second query for the picker
            override_form.fields["rank"].widget.choices = [(r.pk, r.name) for r in why["ranks"]]
        return super().get_context_data(
            tags=customer_tags(customer),
            consents=customer.consents.order_by("channel"),
            orders=customer.orders.select_related("store")[:50],
            points=customer.points_transactions.select_related("created_by")[:50],
            redemptions=customer.redemptions.select_related("reward", "store")[:50],
            tasks=customer.tasks.all()[:50],
            wholesale_applications=applications_of(customer),
            tourist_cards=cards_of(customer),
            timeline=customer_timeline(customer),
            custom_values=custom,
            has_history=services.customer_has_history(customer),
            why=why,
            override_form=override_form,
            **kwargs,
        )


class CustomerFormMixin:
    model = Customer
    form_class = CustomerForm
    raise_exception = True

    def get_form_kwargs(self):
        can_set_rank = self.request.user.has_perm("ranks.override_rank")
        return {
            **super().get_form_kwargs(),
            "can_set_rank": can_set_rank,
            "default_rank": default_rank() if can_set_rank and self.object is None else None,
        }

    def save_rank(self, form, customer):
        """A rank chosen on the form is a manual rank, set by the rank service."""
        change = form.rank_change()
        if change is not None:
            rank, reason = change
            set_override(customer=customer, rank=rank, reason=reason, actor=self.request.user)

    def save_consents(self, form, customer):
        services.set_consents(
            customer=customer,
            answers=form.consent_answers(),
            source=form.cleaned_data.get("consent_source") or "form",
            actor=self.request.user,
        )

    def form_invalid(self, form):
        messages.error(self.request, _("Please correct the errors below."))
        return super().form_invalid(form)


class CustomerCreateView(PermissionRequiredMixin, CustomerFormMixin, CreateView):
    permission_required = "customers.add_customer"

    @transaction.atomic
    def form_valid(self, form):
        data = form.service_data()
        if data.get("rank") is None:
            data["rank"] = default_rank()
        self.object = services.customer_create(data=data, actor=self.request.user)
        form.instance = self.object
        self.save_rank(form, self.object)
        self.save_consents(form, self.object)
        messages.success(self.request, _("Customer %(name)s was created.") % {"name": self.object})
        return HttpResponseRedirect(self.object.get_absolute_url())


class CustomerUpdateView(PermissionRequiredMixin, CustomerFormMixin, UpdateView):
    permission_required = "customers.change_customer"

    def get_queryset(self):
        return Customer.objects.live().filter(anonymised_at__isnull=True)

    @transaction.atomic
    def form_valid(self, form):
        change = form.rank_change()
        self.object = services.customer_update(
            customer=self.object, data=form.service_data(), actor=self.request.user
        )
        if change is not None:
            self.save_rank(form, self.object)
        self.save_consents(form, self.object)
        messages.success(self.request, _("Changes to %(name)s were saved.") % {"name": self.object})
        return HttpResponseRedirect(self.object.get_absolute_url())
