"""Bulk actions on customers picked in the list (ticked or all matching): the view base that
confirms with the count and acts at once or in the background, and the background part — a
`BulkChange` job whose kind an app registers with `register_bulk_action`."""

import logging
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views import View

from customers import selectors, services
from customers.models import BulkChange
from customers.selectors import capped_count, describe_filter

logger = logging.getLogger("loyalty.bulk")

BACKGROUND_MESSAGE = gettext_lazy(
    "The change runs in the background; Bulk changes shows its outcome, and each customer's "
    "timeline records it."
)


class BulkActionView(PermissionRequiredMixin, View):
    """A change to the ticked customers or to all matching the list's filter: the form's
    choices, then a confirmation with the count, then one set-based write — in a background
    task when "all matching" is larger than BULK_SYNC_ROW_LIMIT."""

    raise_exception = True
    form_class = None
    template_name = ""
    invalid_message = ""
    background_message = BACKGROUND_MESSAGE

    def apply(self, queryset, form) -> int:
        raise NotImplementedError

    def enqueue(self, query: str, form) -> None:
        raise NotImplementedError

    def done_message(self, count: int, form) -> str:
        raise NotImplementedError

    def start_form(self, data):
        """The form the confirmation page shows, from the list's bulk bar; ValidationError
        when what the bar sent cannot be confirmed (saying why)."""
        form = self.form_class(data)
        if not form.is_valid():
            raise ValidationError(self.invalid_message)
        return form

    def confirm_context(self, form) -> dict:
        """What the confirmation page shows besides the form and the count."""
        return {}

    def post(self, request):
        try:
            query, ids, queryset = selectors.bulk_target(request.POST)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('customers:list')}?{request.POST.get('query', '')}")
        back = f"{reverse('customers:list')}?{query}"
        confirmed = request.POST.get("confirmed") == "yes"
        try:  # what the bar sent is checked at both steps; the confirmation adds its fields
            form = self.start_form(request.POST)
            if confirmed:
                form = self.form_class(request.POST)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        if not confirmed or not form.is_valid():
            context = {
                "count": queryset.count(),
                "form": form,
                "query": query,
                "ids": ids,
                "scope": request.POST.get("scope", "selected"),
                **self.confirm_context(form),
            }
            return render(request, self.template_name, context, status=400 if confirmed else 200)
        if not ids and capped_count(queryset, settings.BULK_SYNC_ROW_LIMIT)[1]:
            # One set-based statement either way, but at this size it can outlast a request.
            self.enqueue(query, form.cleaned_data, request.user)
            messages.info(request, self.background_message)
            return redirect(back)
        try:
            changed = self.apply(queryset, form.cleaned_data, request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        messages.success(request, self.done_message(changed, form.cleaned_data))
        return redirect(back)


# kind -> what runs a BulkChange of that kind (registered by the app that owns the change).
BULK_ACTIONS: dict[str, Callable[[BulkChange], int | dict]] = {}


def register_bulk_action(kind: str, run: Callable[[BulkChange], int | dict]) -> None:
    BULK_ACTIONS[kind] = run


def start_bulk_change(
    *,
    kind: str,
    actor,
    query_string: str = "",
    parameters: dict | None = None,
    via="web",
    run_now: bool = False,
) -> BulkChange:
    """Record a bulk change and hand it to the worker once the transaction commits (or, for a
    command, run it here and now)."""
    job = BulkChange.objects.create(
        kind=kind,
        created_by=actor,
        via=via,
        query_string=query_string,
        description=describe_filter(query_string) if query_string else "",
        parameters=parameters or {},
    )
    if run_now:
        return run_bulk_change(job.pk)
    job.enqueue()
    return job


def run_bulk_change(job_id: int) -> BulkChange:
    """Run a queued bulk change with its kind's action; a failure is kept on the job."""
    job, claimed = BulkChange.claim(job_id)
    if not claimed:
        return job
    try:  # each action is a service with transactions of its own (rules: one per tag)
        outcome = BULK_ACTIONS[job.kind](job)
    except Exception as error:
        logger.exception("bulk change %s failed", job.pk)
        job.fail(" ".join(getattr(error, "messages", [])) or error)
        return job
    if isinstance(outcome, int):
        job.finish(rows_done=outcome, outcome={"changed": outcome})
    else:
        job.finish(outcome=outcome)
    return job


def bulk_queryset(job: BulkChange):
    """The customers a bulk change acts on: its filter, as it selects them now."""
    return selectors.customers_matching(job.query_string)


def _set_status(job: BulkChange) -> int:
    status = job.parameters["status"]
    return services.bulk_set_status(
        queryset=bulk_queryset(job), status=status, actor=job.created_by
    )


def _archive(job: BulkChange) -> int:
    return services.bulk_archive(queryset=bulk_queryset(job), actor=job.created_by)


def register_own_actions() -> None:
    register_bulk_action(BulkChange.Kind.STATUS, _set_status)
    register_bulk_action(BulkChange.Kind.ARCHIVE, _archive)
