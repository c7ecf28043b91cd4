"""The counter's pages: activate a card (keyboard only: scan, tab through, Enter) and the
success page that starts the next one."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, TemplateView

from cards import selectors, services
from cards.forms import ActivationForm, BatchForm, CardFilterForm
from cards.models import TouristCard
from core.pagination import InvalidCursor, keyset_page
from customers.models import Customer

NEW = "new"
PER_PAGE = 50


class CardListView(PermissionRequiredMixin, TemplateView):
    permission_required = "cards.view_touristcard"
    raise_exception = True
    template_name = "cards/card_list.html"

    def get_context_data(self, **kwargs):
        form = CardFilterForm(self.request.GET)
        data = form.cleaned_data if form.is_valid() else {}
        rows = selectors.cards(
            query=data.get("q", ""),
            status=data.get("status", ""),
            nationality=data.get("nationality", ""),
            valid_until_to=data.get("valid_until_to"),
        )
        try:
            page = keyset_page(
                rows,
                ["number"],
                PER_PAGE,
                after=self.request.GET.get("after", ""),
                before=self.request.GET.get("before", ""),
            )
        except InvalidCursor:
            page = keyset_page(rows, ["number"], PER_PAGE)
        query = self.request.GET.copy()
        for name in ("after", "before"):
            query.pop(name, None)
        return super().get_context_data(
            form=form,
            page=page,
            filter_query=query.urlencode(),
            filtered=any(data.values()),
            full_passports=self.request.user.has_perm("cards.view_passport_touristcard"),
            **kwargs,
        )


class CardDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "cards.view_touristcard"
    raise_exception = True
    template_name = "cards/card_detail.html"
    context_object_name = "card"

    def get_queryset(self):
        return TouristCard.objects.select_related(
            "customer", "batch", "store", "activated_by", "replaced_by"
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            events=self.object.events.select_related("actor")[:100],
            full_passports=self.request.user.has_perm("cards.view_passport_touristcard"),
            **kwargs,
        )


class ActivateView(PermissionRequiredMixin, FormView):
    permission_required = "cards.activate_touristcard"
    raise_exception = True
    template_name = "cards/activate.html"
    form_class = ActivationForm

    def form_valid(self, form):
        traveller = form.traveller()
        matches = services.travellers_matching(
            passport=traveller["passport_number"],
            nationality=traveller["nationality"],
            phone=traveller["phone"],
            email=traveller["email"],
        )
        attach = self.request.POST.get("attach", "")
        if matches and attach not in {NEW, *(str(c.pk) for c in matches)}:
            # Ask once: the traveller may already be a customer.
            return self.render_to_response(self.get_context_data(form=form, matches=matches))
        customer = next((c for c in matches if str(c.pk) == attach), None)
        try:
            card = services.activate(
                number=form.cleaned_data["number"],
                traveller=traveller,
                store=form.cleaned_data["store"],
                actor=self.request.user,
                customer=customer,
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, _("Card %(number)s is active.") % {"number": card.number})
        return redirect("cards:activated", pk=card.pk)


class BatchListView(PermissionRequiredMixin, FormView):
    """Batches with their cards per status, and the form that adds one (Administrator)."""

    permission_required = "cards.add_cardbatch"
    raise_exception = True
    template_name = "cards/batch_list.html"
    form_class = BatchForm

    def get_context_data(self, **kwargs):
        return super().get_context_data(batches=selectors.batches_with_counts(), **kwargs)

    def form_valid(self, form):
        try:
            batch = services.generate_batch(**form.cleaned_data, actor=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Batch %(name)s: %(size)s cards in stock.")
            % {"name": batch.name, "size": f"{batch.size:,}"},
        )
        return redirect("cards:batches")


class ActivatedView(PermissionRequiredMixin, DetailView):
    permission_required = "cards.activate_touristcard"
    raise_exception = True
    template_name = "cards/activated.html"
    context_object_name = "card"

    def get_queryset(self):
        return TouristCard.objects.select_related("customer", "store").filter(
            customer__isnull=False
        )

    def get_context_data(self, **kwargs):
        return super().get_context_data(tourist=Customer.CustomerType.TOURIST, **kwargs)
