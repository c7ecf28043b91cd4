"""The tourist cards' pages: the list and a card's page, the counter's activation (keyboard
only: scan, tab through, Enter) and its success page, a card's life, and the card stock."""

import csv
import io
import tempfile
from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.generic import DetailView, FormView, TemplateView

from cards import selectors, services
from cards.forms import (
    ActivationForm,
    BatchForm,
    CardFilterForm,
    ConvertForm,
    ExtendForm,
    ReplaceForm,
    StockFileForm,
    VoidForm,
)
from cards.models import CardBatch, CardStatus, TouristCard
from core.files import FileRejected
from core.pagination import InvalidCursor, keyset_page
from customers import access_log
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
        filters = {name: value for name, value in data.items() if name != "q"}
        rows = selectors.cards(query=data.get("q", ""), **filters)
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
        full = self.request.user.has_perm("cards.view_passport_touristcard")
        shown = sum(1 for card in page.rows if card.passport_number)
        if full and shown:
            access_log.record(
                user=self.request.user,
                kind=access_log.Kind.REVEALED,
                detail=_("%(n)s passport numbers on the cards list") % {"n": shown},
            )
        return super().get_context_data(
            form=form,
            page=page,
            filter_query=query.urlencode(),
            filtered=any(data.values()),
            full_passports=full,
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
        full = self.request.user.has_perm("cards.view_passport_touristcard")
        if full and self.object.passport_number:
            access_log.record(
                user=self.request.user,
                kind=access_log.Kind.REVEALED,
                customer=self.object.customer,
                detail=_("Passport number on card %(number)s") % {"number": self.object.number},
            )
        return super().get_context_data(
            events=self.object.events.select_related("actor")[:100],
            replaces=TouristCard.objects.filter(replaced_by=self.object).first(),
            can_change=self.request.user.has_perm("cards.activate_touristcard"),
            full_passports=full,
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
    """Batches with their cards per status, and the forms that add one (Administrator):
    generated numbers, or a file of pre-printed ones."""

    permission_required = "cards.add_cardbatch"
    raise_exception = True
    template_name = "cards/batch_list.html"
    form_class = BatchForm

    def get_context_data(self, **kwargs):
        kwargs.setdefault("stock_form", StockFileForm())
        return super().get_context_data(batches=selectors.batches_with_counts(), **kwargs)

    def form_valid(self, form):
        try:
            batch = services.generate_batch(**form.cleaned_data, actor=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        return self.added(batch)

    def added(self, batch):
        messages.success(
            self.request,
            _("Batch %(name)s: %(size)s cards in stock.")
            % {"name": batch.name, "size": f"{batch.size:,}"},
        )
        return redirect(batch)


class BatchImportView(BatchListView):
    """The stock page's second form: pre-printed numbers read from a file. A file with any bad
    row adds nothing and names the rows."""

    form_class = StockFileForm
    http_method_names = ["post"]

    def render_stock(self, form, problems=(), count=0):
        return self.render_to_response(
            self.get_context_data(
                form=BatchForm(), stock_form=form, problems=problems, problem_count=count
            )
        )

    def form_invalid(self, form):
        return self.render_stock(form)

    def form_valid(self, form):
        data = form.cleaned_data
        upload = data["file"]
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "numbers"
            with path.open("wb") as handle:
                for chunk in upload.chunks():
                    handle.write(chunk)
            try:
                batch = services.import_batch(
                    name=data["name"],
                    path=path,
                    file_name=upload.name,
                    validity_days=data["validity_days"],
                    store=data["store"],
                    actor=self.request.user,
                )
            except services.StockFileRefused as error:
                form.add_error("file", error.messages)
                return self.render_stock(form, error.problems, error.count)
            except FileRejected as error:
                form.add_error("file", str(error))
                return self.render_stock(form)
        return self.added(batch)


class BatchDetailView(PermissionRequiredMixin, DetailView):
    """One batch: its cards per status (on the batch index), print view and numbers file."""

    permission_required = "cards.add_cardbatch"
    raise_exception = True
    template_name = "cards/batch_detail.html"
    context_object_name = "batch"
    queryset = CardBatch.objects.select_related("store", "created_by")

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            status_counts=selectors.status_counts(self.object), **kwargs
        )


PRINT_SHEET = 500


class BatchPrintView(BatchDetailView):
    """The batch's numbers still in stock, laid out for printing, a sheet at a time."""

    template_name = "cards/batch_print.html"

    def get_context_data(self, **kwargs):
        after = self.request.GET.get("after", "")
        rows = self.object.cards.filter(status=CardStatus.IN_STOCK)
        if after:
            rows = rows.filter(number__gt=after)
        numbers = list(rows.order_by("number").values_list("number", flat=True)[: PRINT_SHEET + 1])
        return super().get_context_data(
            numbers=[group_digits(number) for number in numbers[:PRINT_SHEET]],
            next_after=numbers[PRINT_SHEET - 1] if len(numbers) > PRINT_SHEET else "",
            **kwargs,
        )


def group_digits(number: str) -> str:
    """A card number in groups of four, as it is printed and read aloud."""
    return " ".join(number[start : start + 4] for start in range(0, len(number), 4))


@permission_required("cards.add_cardbatch", raise_exception=True)
def batch_numbers_csv(request, pk):
    """Every number of the batch with its status, streamed (a batch may hold 100,000)."""
    batch = get_object_or_404(CardBatch, pk=pk)
    labels = dict(CardStatus.choices)

    def lines():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("Card number"), _("Status")])
        rows = batch.cards.order_by("number").values_list("number", "status")
        for index, (number, status) in enumerate(rows.iterator(chunk_size=5000)):
            writer.writerow([number, labels.get(status, status)])
            if index % 1000 == 999:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    filename = slugify(batch.name) or f"batch-{batch.pk}"
    response["Content-Disposition"] = f'attachment; filename="{filename}-numbers.csv"'
    return response


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


class CardActionView(PermissionRequiredMixin, FormView):
    """One change in an active card's life. The GET page is the confirmation: it shows the
    card and what will happen; the POST does it, or keeps what was typed and says why not."""

    permission_required = "cards.activate_touristcard"
    raise_exception = True
    template_name = "cards/card_action.html"
    allowed: tuple[str, ...] = (CardStatus.ACTIVE,)
    title = ""
    explanation = ""
    button = ""
    danger = False

    def dispatch(self, request, *args, **kwargs):
        self.card = get_object_or_404(
            TouristCard.objects.select_related("customer", "batch"), pk=kwargs["pk"]
        )
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        if self.card.status not in self.allowed:
            messages.warning(
                request,
                _("Card %(number)s is %(status)s: this cannot be done to it now.")
                % {"number": self.card.number, "status": self.card.get_status_display().lower()},
            )
            return redirect("cards:detail", pk=self.card.pk)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            card=self.card,
            title=self.title,
            explanation=self.explanation,
            button=self.button,
            danger=self.danger,
            **kwargs,
        )

    def form_valid(self, form):
        try:
            card, message = self.perform(form)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(self.request, message)
        return redirect(self.success_url_for(card))

    def success_url_for(self, card):
        return card.get_absolute_url()

    def perform(self, form):
        raise NotImplementedError


class ExtendView(CardActionView):
    form_class = ExtendForm
    title = _("Extend the validity")
    explanation = _("The card stays valid until the new date; the reason goes on its history.")
    button = _("Extend")

    def get_initial(self):
        return {"valid_until": self.card.valid_until}

    def perform(self, form):
        card = services.extend(
            card=self.card,
            valid_until=form.cleaned_data["valid_until"],
            actor=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return card, _("Card %(number)s is valid until %(until)s.") % {
            "number": card.number,
            "until": card.valid_until.isoformat(),
        }


class VoidView(CardActionView):
    form_class = VoidForm
    allowed = (CardStatus.IN_STOCK, CardStatus.ACTIVE)
    title = _("Void the card")
    explanation = _(
        "A void card can never be used again. To give the traveller a new card, replace it instead."
    )
    button = _("Void the card")
    danger = True

    def perform(self, form):
        card = services.void(card=self.card, actor=self.request.user, reason=form.reason())
        return card, _("Card %(number)s is void.") % {"number": card.number}


class ReplaceView(CardActionView):
    form_class = ReplaceForm
    title = _("Replace the card")
    explanation = _(
        "The new card takes over the traveller and the validity; this one is marked replaced. "
        "Points and history stay with the customer."
    )
    button = _("Replace")

    def perform(self, form):
        card = services.replace(
            card=self.card,
            new_number=form.cleaned_data["new_number"],
            actor=self.request.user,
            reason=form.cleaned_data["reason"],
        )
        return card, _("Card %(new)s replaces %(old)s.") % {
            "new": card.number,
            "old": self.card.number,
        }


class ConvertView(CardActionView):
    form_class = ConvertForm
    allowed = (CardStatus.ACTIVE, CardStatus.EXPIRED)
    title = _("Convert to a full membership")
    explanation = _(
        "The tourist becomes a retail member with the same points, orders and history; "
        "this card is marked converted and can no longer be used."
    )
    button = _("Convert")

    def perform(self, form):
        customer = services.convert(card=self.card, actor=self.request.user)
        return customer, _("%(name)s is now a full member.") % {"name": customer}
