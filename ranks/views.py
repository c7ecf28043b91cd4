"""Rank settings: the overview, the ladder, the policy, recalculation jobs and manual ranks.

Changes that move members (a threshold, a level, the policy) are previewed first: the page
shows the impact computed by the same engine that saving runs, and saving applies exactly the
previewed proposal.
"""

import copy
from functools import cached_property

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import CreateView, DetailView, TemplateView

from core.forms import is_id
from core.palette import CHART_HEX
from core.views import RetryJobMixin
from customers.bulk import BulkActionView, start_bulk_change
from customers.models import BulkChange, Customer
from ranks import selectors, services
from ranks.forms import DeleteRankForm, OverrideForm, PolicyForm, RankForm
from ranks.models import Rank, RankPolicy, RankRecalculation, RankSimulation


class OverviewView(PermissionRequiredMixin, TemplateView):
    permission_required = "ranks.view_rank"
    raise_exception = True
    template_name = "ranks/overview.html"

    def get_context_data(self, **kwargs):
        ranks = list(Rank.objects.all())
        figures = selectors.members_per_rank()
        counts = {rank.pk: figures["counts"].get(rank.pk, 0) for rank in ranks}
        total = sum(counts.values()) or 1
        rows = [
            {"rank": rank, "members": counts[rank.pk], "share": 100 * counts[rank.pk] / total}
            for rank in ranks
        ]
        return super().get_context_data(
            rows=rows,
            policy=RankPolicy.current(),
            figures_at=figures["computed_at"],
            chart={
                "labels": [rank.name for rank in ranks],
                "values": [row["members"] for row in rows],
                "colours": [CHART_HEX[rank.colour] for rank in ranks],
            },
            latest_job=RankRecalculation.objects.select_related("created_by").first(),
            **kwargs,
        )


class RankCreateView(PermissionRequiredMixin, CreateView):
    permission_required = "ranks.add_rank"
    raise_exception = True
    form_class = RankForm
    template_name = "ranks/rank_form.html"

    def form_valid(self, form):
        try:
            services.save_rank(rank=form.instance, actor=self.request.user)
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("Rank “%(name)s” added. Recalculate ranks to place members in it.")
            % {"name": form.instance.name},
        )
        return redirect("ranks:overview")


class _PreviewThenSave(PermissionRequiredMixin, View):
    """POST with action=preview shows the impact; action=save applies the previewed proposal."""

    raise_exception = True
    template_name = ""

    def get_form(self, data=None):
        raise NotImplementedError

    def moves_members(self, form) -> bool:
        raise NotImplementedError

    def save_other_fields(self, form) -> None:
        """Fields that move no one (a name, a colour) are saved as they are."""

    def context(self, form, **extra):
        return {"form": form, **extra}

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, self.context(self.get_form()))

    def refuse(self, request, form, status=400):
        """The form with its errors: the whole page, or for a preview asked by htmx the impact
        block, which shows them where the preview would have been."""
        template = f"{self.template_name}#impact" if request.htmx else self.template_name
        return render(request, template, self.context(form), status=status)

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST)
        if not form.is_valid():
            return self.refuse(request, form)
        proposal = form.proposal()
        simulation = None
        if is_id(request.POST.get("simulation", "")):
            simulation = RankSimulation.objects.filter(
                pk=request.POST["simulation"], created_by=request.user
            ).first()
        previewed = simulation is not None and simulation.proposal == services.proposal_json(
            proposal
        )
        if request.POST.get("action") == "save" and (previewed or not self.moves_members(form)):
            try:
                with transaction.atomic():
                    moves = self.moves_members(form)
                    self.save_other_fields(form)
                    counts = (
                        services.apply_proposal(simulation=simulation, actor=request.user)
                        if moves
                        else None
                    )
            except ValidationError as error:
                form.add_error(None, error)
                return self.refuse(request, form)
            if counts is None:
                messages.success(request, _("Saved."))
            else:
                messages.success(
                    request,
                    _("Saved: %(up)s members moved up and %(down)s down, as previewed.")
                    % {"up": f"{counts['upgraded']:,}", "down": f"{counts['downgraded']:,}"},
                )
            return redirect("ranks:overview")
        try:
            simulation = services.simulate(proposal=proposal, actor=request.user)
        except services.RecalculationBusy as error:
            form.add_error(None, error)
            return self.refuse(request, form, status=409)
        if request.POST.get("action") == "save":
            messages.info(request, _("Check the impact of this change, then save it."))
        context = self.context(form, simulation=simulation, impact=selectors.impact(simulation))
        template = f"{self.template_name}#impact" if request.htmx else self.template_name
        return render(request, template, context)


class RankUpdateView(_PreviewThenSave):
    permission_required = "ranks.change_rank"
    template_name = "ranks/rank_form.html"

    @cached_property
    def rank(self):  # read after the permission check: no 404-or-403 tells what exists
        return get_object_or_404(Rank, pk=self.kwargs["pk"])

    def get_form(self, data=None):
        return RankForm(data, instance=copy.copy(self.rank))  # the form edits its own copy

    def moves_members(self, form) -> bool:
        return (
            form.cleaned_data["threshold"] != self.rank.threshold
            or form.cleaned_data["level"] != self.rank.level
        )

    def save_other_fields(self, form) -> None:
        rank = form.instance
        if self.moves_members(form):  # the proposal writes these two, after its own checks
            rank.threshold, rank.level = self.rank.threshold, self.rank.level
        services.save_rank(rank=rank, actor=self.request.user)

    def context(self, form, **extra):
        return super().context(form, rank=self.rank, **extra)


class PolicyView(_PreviewThenSave):
    permission_required = "ranks.change_rankpolicy"
    template_name = "ranks/policy_form.html"

    def get_form(self, data=None):
        return PolicyForm(data, instance=RankPolicy.current())

    def moves_members(self, form) -> bool:
        return form.has_changed()


class RankDeleteView(PermissionRequiredMixin, View):
    permission_required = "ranks.delete_rank"
    raise_exception = True
    template_name = "ranks/rank_confirm_delete.html"

    @cached_property
    def rank(self):  # read after the permission check: no 404-or-403 tells what exists
        return get_object_or_404(Rank, pk=self.kwargs["pk"])

    def context(self, form):
        return {
            "rank": self.rank,
            "form": form,
            "members": Customer.objects.filter(rank=self.rank).count(),
        }

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, self.context(DeleteRankForm(rank=self.rank)))

    def post(self, request, *args, **kwargs):
        form = DeleteRankForm(request.POST, rank=self.rank)
        if form.is_valid():
            try:
                moved = services.delete_rank(
                    rank=self.rank, move_to=form.cleaned_data["move_to"], actor=request.user
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("Rank “%(name)s” deleted; %(n)s members moved to %(to)s.")
                    % {
                        "name": self.rank.name,
                        "n": f"{moved:,}",
                        "to": form.cleaned_data["move_to"].name,
                    },
                )
                return redirect("ranks:overview")
        return render(request, self.template_name, self.context(form), status=400)


class RecalculateView(PermissionRequiredMixin, View):
    permission_required = "ranks.change_rankpolicy"
    raise_exception = True

    def post(self, request):
        try:
            job = services.queue_recalculation(actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("ranks:overview")
        return redirect(job)


class RecalculationDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "ranks.view_rank"
    raise_exception = True
    model = RankRecalculation
    template_name = "ranks/recalculation_detail.html"
    context_object_name = "job"

    def get_template_names(self):
        if self.request.htmx:
            return [f"{self.template_name}#status"]
        return [self.template_name]


class RecalculationRetryView(RetryJobMixin, PermissionRequiredMixin, View):
    permission_required = "ranks.change_rankpolicy"
    raise_exception = True
    retry_job = staticmethod(services.retry_recalculation)
    queued_message = gettext_lazy("The recalculation was queued again.")

    def get_job(self):
        return get_object_or_404(RankRecalculation, pk=self.kwargs["pk"])


class OverrideView(PermissionRequiredMixin, View):
    """Set a customer's rank by hand (from the customer page)."""

    permission_required = "ranks.override_rank"
    raise_exception = True

    def post(self, request, customer_pk):
        customer = get_object_or_404(Customer, pk=customer_pk)
        form = OverrideForm(request.POST)
        if form.is_valid():
            try:
                services.set_override(
                    customer=customer,
                    rank=form.cleaned_data["rank"],
                    reason=form.cleaned_data["reason"],
                    expires_at=form.cleaned_data["expires_at"],
                    actor=request.user,
                )
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
            else:
                messages.success(
                    request,
                    _("Rank set to %(rank)s by hand.") % {"rank": form.cleaned_data["rank"].name},
                )
                return redirect(customer)
        else:
            messages.error(
                request,
                " ".join(
                    f"{form.fields[name].label}: {' '.join(errors)}"
                    for name, errors in form.errors.items()
                ),
            )
        return redirect(f"{reverse('customers:detail', args=[customer.pk])}?override=1")


class EndOverrideView(PermissionRequiredMixin, View):
    permission_required = "ranks.override_rank"
    raise_exception = True

    def post(self, request, customer_pk):
        customer = get_object_or_404(Customer, pk=customer_pk)
        services.end_override(customer=customer, actor=request.user)
        messages.success(request, _("The manual rank ended; the policy decides the rank again."))
        return redirect(customer)


class BulkRankView(BulkActionView):
    """Confirm, then give the selected or all matching customers a rank by hand (reason and an
    optional end date asked on the confirmation page)."""

    permission_required = "ranks.override_rank"
    form_class = OverrideForm
    template_name = "ranks/bulk_rank_confirm.html"
    invalid_message = gettext_lazy("Choose a rank.")

    def start_form(self, data):
        rank = data.get("rank", "")
        if not is_id(rank) or not Rank.objects.filter(pk=rank).exists():
            raise ValidationError(self.invalid_message)
        return self.form_class(initial={"rank": rank})

    def apply(self, queryset, data, user) -> int:
        return services.bulk_set_override(
            queryset=queryset,
            rank=data["rank"],
            reason=data["reason"],
            expires_at=data["expires_at"],
            actor=user,
        )

    def enqueue(self, query, data, user) -> None:
        start_bulk_change(
            kind=BulkChange.Kind.RANK,
            actor=user,
            query_string=query,
            parameters={
                "rank_id": data["rank"].pk,
                "reason": data["reason"],
                "expires_at": data["expires_at"].isoformat() if data["expires_at"] else None,
            },
        )

    def done_message(self, count, data) -> str:
        return ngettext(
            "%(count)s customer now holds %(rank)s by hand.",
            "%(count)s customers now hold %(rank)s by hand.",
            count,
        ) % {"count": f"{count:,}", "rank": data["rank"].name}
