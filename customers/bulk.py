"""The base of every bulk action on customers picked in the list (ticked or all matching):
confirm with the count, then act at once or in the background."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy
from django.views import View

from customers import selectors
from customers.selectors import capped_count


class BulkActionView(PermissionRequiredMixin, View):
    """A change to the ticked customers or to all matching the list's filter: the form's
    choices, then a confirmation with the count, then one set-based write — in a background
    task when "all matching" is larger than BULK_SYNC_ROW_LIMIT."""

    raise_exception = True
    form_class = None
    template_name = ""
    invalid_message = ""
    background_message = gettext_lazy(
        "The change runs in the background; each customer's timeline records it when done."
    )

    def apply(self, queryset, form) -> int:
        raise NotImplementedError

    def enqueue(self, query: str, form) -> None:
        raise NotImplementedError

    def done_message(self, count: int, form) -> str:
        raise NotImplementedError

    def start_form(self, data):
        """The form the confirmation page shows, from the list's bulk bar; None when what the
        bar sent cannot be confirmed (the invalid message says why)."""
        form = self.form_class(data)
        return form if form.is_valid() else None

    def post(self, request):
        try:
            query, ids, queryset = selectors.bulk_target(request.POST)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('customers:list')}?{request.POST.get('query', '')}")
        back = f"{reverse('customers:list')}?{query}"
        confirmed = request.POST.get("confirmed") == "yes"
        form = self.form_class(request.POST) if confirmed else self.start_form(request.POST)
        if form is None:
            messages.error(request, self.invalid_message)
            return redirect(back)
        if not confirmed or not form.is_valid():
            context = {
                "count": queryset.count(),
                "form": form,
                "query": query,
                "ids": ids,
                "scope": request.POST.get("scope", "selected"),
            }
            return render(request, self.template_name, context, status=400 if confirmed else 200)
        if not ids and capped_count(queryset, settings.BULK_SYNC_ROW_LIMIT)[1]:
            # One set-based statement either way, but at this size it can outlast a request.
            user, data = request.user.pk, form.cleaned_data
            transaction.on_commit(lambda: self.enqueue(query, data, user))
            messages.info(request, self.background_message)
            return redirect(back)
        try:
            changed = self.apply(queryset, form.cleaned_data, request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        messages.success(request, self.done_message(changed, form.cleaned_data))
        return redirect(back)
