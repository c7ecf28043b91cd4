from functools import cached_property, reduce
from operator import or_

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Prefetch, Q, prefetch_related_objects
from django.http import (
    FileResponse,
    Http404,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import CreateView, DetailView, FormView, ListView, UpdateView
from django_filters.views import FilterView

from core.db import side_query, without_parallel_workers
from core.forms import is_id, parse_ids
from core.views import RetryJobMixin
from customers import jobs, selectors, services
from customers.exports import (
    DEFAULT_EXPORT_COLUMNS,
    available_columns,
    csv_lines,
    export_queryset,
    resolve_columns,
)
from customers.filters import CustomerFilterSet, panel_sections
from customers.forms import (
    AnonymiseForm,
    BulkStatusForm,
    ColumnsForm,
    CustomerForm,
    ExportForm,
    SavedViewForm,
    SetPasswordForm,
    from_json_value,
)
from customers.models import (
    Customer,
    CustomFieldDefinition,
    ExportJob,
    ListPreference,
    SavedView,
    Store,
)
from customers.pagination import InvalidCursor, keyset_page
from customers.selectors import capped_count
from customers.tables import (
    CHOOSABLE_COLUMNS,
    DEFAULT_COLUMNS,
    NUMERIC_COLUMNS,
    SORTS,
    CustomerTable,
    ordering_for,
)
from customers.tasks import bulk_archive_task, bulk_status_task
from ranks.forms import OverrideForm
from ranks.models import Rank
from ranks.selectors import why_this_rank
from tags.models import CustomerTag, Tag

PAGE_PARAMS = ("page", "after", "before")
PER_PAGE = 50


def _query_without_page(request, *extra: str) -> str:
    query = request.GET.copy()
    for name in (*PAGE_PARAMS, *extra):
        query.pop(name, None)
    return query.urlencode()


# The list's columns that are not export columns of the same name.
_LIST_TO_EXPORT = {"name": ["last_name", "first_name"]}


def export_columns_of(list_columns: list[str]) -> list[str]:
    """The export columns for the list's chosen ones, in their order."""
    available = available_columns()
    keys = [key for column in list_columns for key in _LIST_TO_EXPORT.get(column, [column])]
    return [key for key in keys if key in available] or list(DEFAULT_EXPORT_COLUMNS)


def chosen_columns(user) -> list[str]:
    preference = ListPreference.objects.filter(user=user).first()
    columns = [c for c in (preference.columns if preference else []) if c in CHOOSABLE_COLUMNS]
    return columns or list(DEFAULT_COLUMNS)


class ListResults:
    """A list page's rows and its number of results, read beside the rest of the page.

    Building the page's HTML above its results (header, sidebar, the filter panel's thirty
    fields) is Python that does not need the rows, and reading the rows is a wait on the
    database that does not need Python. So the rows' query starts on a side connection
    (`core.db.side_query`) when the view builds its context, as the count does, and
    the template reads them where the results begin: at 1,000,000 customers a tag or reward
    filter's rows take 8–20 ms to find, most of which now overlaps the panel's rendering.
    Where no side connection can take the query (SQLite, inside a transaction, side queries
    turned off) the rows are read at that point on the request's own connection.
    """

    def __init__(self, view, filterset, ordering, base):
        self._view, self._filterset, self._ordering, self._base = view, filterset, ordering, base
        self._table, self._columns = None, []
        self._cap = settings.LIST_COUNT_CAP
        # The rows first: with a single side connection, the count waits for them.
        self._reading = side_query(view.read_page, ordering)
        self._counting = selectors.start_count(filterset, self._cap)

    def show(self, table, columns: list[str]) -> None:
        """How the rows become HTML: `table`'s cells for `columns` (read once the rows are)."""
        self._table, self._columns = table, columns

    @cached_property
    def _read(self) -> tuple:
        if self._reading is not None:
            return self._reading.result()
        with without_parallel_workers():
            return self._view.read_page(self._ordering)

    @property
    def page(self):
        return self._read[0]

    @property
    def cursor_error(self) -> str:
        return self._read[1]

    @cached_property
    def count(self) -> dict:
        """What the header says about the number of results (selectors.result_count)."""
        return selectors.result_count(
            self._filterset, self._cap, page=self.page, counting=self._counting
        )

    @cached_property
    def rows(self) -> list[str]:
        rows = self.page.rows
        if "tags" in self._columns:
            prefetch_related_objects(
                rows, Prefetch("tag_links", queryset=CustomerTag.objects.select_related("tag"))
            )
        return self._table.rows_html(rows, self._columns)

    @property
    def next_url(self) -> str | None:
        cursor, base = self.page.next_cursor, self._base
        return cursor and f"?{base}{'&' if base else ''}after={cursor}"

    @property
    def previous_url(self) -> str | None:
        cursor, base = self.page.previous_cursor, self._base
        return cursor and f"?{base}{'&' if base else ''}before={cursor}"


class CustomerListView(PermissionRequiredMixin, FilterView):
    """The filterable customer list; htmx requests get only the results block.

    Pages are keyset pages (customers.pagination): the 5,000th costs what the first does.
    """

    permission_required = "customers.view_customer"
    filterset_class = CustomerFilterSet
    template_name = "customers/customer_list.html"
    raise_exception = True

    def get_queryset(self):
        return Customer.objects.for_list()

    def get_filterset_kwargs(self, filterset_class):
        kwargs = super().get_filterset_kwargs(filterset_class)
        kwargs["data"] = self.request.GET
        return kwargs

    def get_template_names(self):
        if self.request.htmx and not self.request.htmx.boosted:
            return [f"{self.template_name}#results"]
        return [self.template_name]

    def _visible_columns(self, columns: list[str]) -> list[str]:
        user = self.request.user
        if any(
            user.has_perm(permission)
            for permission in (
                "customers.export_customer",
                "customers.bulk_update_customer",
                "tags.assign_tag",
            )
        ):
            columns = ["selection", *columns]
        return columns

    def read_page(self, ordering):
        """The page the request asks for, and why the first page came instead (or "")."""
        get = self.request.GET
        try:
            return keyset_page(
                self.object_list,
                ordering,
                PER_PAGE,
                after=get.get("after", ""),
                before=get.get("before", ""),
            ), ""
        except InvalidCursor as error:
            return keyset_page(self.object_list, ordering, PER_PAGE), str(error)

    def _headers(self, table, columns, sort):
        base = _query_without_page(self.request, "sort")
        headers = []
        for name in columns:
            column = table.columns[name]
            header = {"name": name, "label": column.header, "numeric": name in NUMERIC_COLUMNS}
            if name in SORTS:
                descending_now = sort == f"-{name}"
                header["sorted"] = "desc" if descending_now else "asc" if sort == name else ""
                next_sort = name if descending_now or sort != name else f"-{name}"
                header["url"] = f"?{base}&sort={next_sort}" if base else f"?sort={next_sort}"
            headers.append(header)
        return headers

    # The filter panel's sections: (title, criteria); the custom fields come last.
    def _sections(self, filterset) -> list[dict]:
        """The panel's sections, each open when one of its criteria holds a value (Contact,
        the first, is open anyway)."""
        asked = {key for key, values in self.request.GET.lists() if any(values)}
        sections = panel_sections()
        if filterset.custom_field_names:
            sections.append((_("Custom fields"), tuple(filterset.custom_field_names)))
        return [
            {
                "title": title,
                "fields": [filterset.form[name] for name in names],
                "open": index == 0
                or any(
                    parameter in asked
                    for name in names
                    for parameter in selectors.parameters_of(filterset, name)
                ),
            }
            for index, (title, names) in enumerate(sections)
        ]

    def _chips(self, filterset) -> list[dict]:
        """Each criterion in use, in words, with the list's address without it."""
        chips = []
        for name, label, shown in selectors.criteria_in_words(filterset):
            query = self.request.GET.copy()
            for parameter in (*selectors.parameters_of(filterset, name), *PAGE_PARAMS):
                query.pop(parameter, None)
            chips.append({"label": label, "value": shown, "url": f"?{query.urlencode()}"})
        return chips

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = context["filter"]
        context["valid"] = valid = filterset.is_valid()
        if not valid:
            context["filter_errors"] = selectors.filter_errors(filterset)
        if valid:
            ordering, sort = ordering_for(self.request.GET.get("sort", ""))
            base = _query_without_page(self.request)
            results = ListResults(self, filterset, ordering, base)  # the rows are being read
        chosen = chosen_columns(self.request.user)  # meanwhile, where they can be read beside
        if valid:
            columns = self._visible_columns(chosen)
            table = CustomerTable([], exclude=[c for c in CHOOSABLE_COLUMNS if c not in columns])
            results.show(table, columns)
            context.update(
                results=results,
                headers=self._headers(table, columns, sort),
                first_url=f"?{base}" if base else "?",
            )
        # The filter for bulk actions and exports; links keep rule_for, a page-only hint.
        context["query"] = _query_without_page(self.request, "rule_for")
        context["archived"] = bool(filterset.form.cleaned_data.get("archived")) if valid else False
        context["rank_preview"] = filterset.form.cleaned_data.get("rank_preview") if valid else ""
        rule_for = self.request.GET.get("rule_for", "")
        context["rule_tag"] = (
            Tag.objects.filter(pk=rule_for, kind=Tag.Kind.AUTOMATIC).first()
            if is_id(rule_for) and self.request.user.has_perm("tags.change_tag")
            else None
        )
        context["rank_preview_direction"] = (context["rank_preview"] or "").rpartition("-")[2]
        context["saved_views"] = selectors.saved_views_for(self.request.user)
        context["columns_form"] = ColumnsForm(initial={"columns": chosen})
        context["saved_view_form"] = SavedViewForm()
        context["bulk_status_form"] = BulkStatusForm()
        if self.request.user.has_perm("ranks.override_rank"):
            context["bulk_ranks"] = Rank.objects.order_by("level")
        context["filter_sections"] = self._sections(filterset)
        if valid:
            context["active_filters"] = self._chips(filterset)
        context["more_filters_used"] = any(
            value not in ("", None)
            for key, values in self.request.GET.lists()
            if key not in {"q", "sort", "archived", "rank_preview", "rule_for", *PAGE_PARAMS}
            for value in values
        )
        return context


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
        why = why_this_rank(customer)
        override_form = OverrideForm(initial={"rank": customer.rank_id})
        if why:  # the ranks are loaded already: no second query for the picker
            override_form.fields["rank"].widget.choices = [(r.pk, r.name) for r in why["ranks"]]
        return super().get_context_data(
            tags=selectors.customer_tags(customer),
            orders=customer.orders.select_related("store")[:50],
            points=customer.points_transactions.select_related("created_by")[:50],
            redemptions=customer.redemptions.select_related("reward", "store")[:50],
            tasks=customer.tasks.all()[:50],
            timeline=selectors.customer_timeline(customer),
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
        from ranks.selectors import default_rank

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
            from ranks.services import set_override

            rank, reason = change
            set_override(customer=customer, rank=rank, reason=reason, actor=self.request.user)

    def form_invalid(self, form):
        messages.error(self.request, _("Please correct the errors below."))
        return super().form_invalid(form)


class CustomerCreateView(PermissionRequiredMixin, CustomerFormMixin, CreateView):
    permission_required = "customers.add_customer"

    @transaction.atomic
    def form_valid(self, form):
        self.object = services.customer_create(data=form.service_data(), actor=self.request.user)
        form.instance = self.object
        self.save_rank(form, self.object)
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
        messages.success(self.request, _("Changes to %(name)s were saved.") % {"name": self.object})
        return HttpResponseRedirect(self.object.get_absolute_url())


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


class OptionsView(PermissionRequiredMixin, View):
    """Options for the tag and store pickers, searched as the user types (JSON)."""

    permission_required = "customers.view_customer"
    raise_exception = True
    LIMIT = 50
    # "tags" for filtering (any tag), "manual-tags" for assigning (a rule assigns the others).
    SOURCES = {
        "tags": (lambda: Tag.objects.all(), ("name",)),
        "manual-tags": (lambda: Tag.objects.filter(kind=Tag.Kind.MANUAL), ("name",)),
        "stores": (lambda: Store.objects.all(), ("name", "code", "city")),
    }

    def get(self, request, kind):
        if kind not in self.SOURCES:
            raise Http404
        rows, fields = self.SOURCES[kind]
        queryset = rows().order_by("name")
        query = request.GET.get("q", "").strip()
        if query:
            queryset = queryset.filter(
                reduce(or_, (Q(**{f"{field}__icontains": query}) for field in fields))
            )
        rows = queryset.values_list("pk", "name")[: self.LIMIT]
        return JsonResponse({"results": [{"value": pk, "text": name} for pk, name in rows]})


class ColumnsView(PermissionRequiredMixin, View):
    permission_required = "customers.view_customer"
    raise_exception = True

    def post(self, request):
        form = ColumnsForm(request.POST)
        if form.is_valid():
            ListPreference.objects.update_or_create(
                user=request.user, defaults={"columns": form.cleaned_data["columns"]}
            )
            messages.success(request, _("Columns saved."))
        else:
            messages.error(request, _("Choose at least one column."))
        return redirect(_safe_next(request, reverse("customers:list")))


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


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


class BulkStatusView(BulkActionView):
    """Confirm, then set the status of the selected or all matching customers."""

    permission_required = "customers.bulk_update_customer"
    form_class = BulkStatusForm
    template_name = "customers/bulk_status_confirm.html"
    invalid_message = gettext_lazy("Choose a status.")

    def apply(self, queryset, data, user) -> int:
        return services.bulk_set_status(queryset=queryset, status=data["status"], actor=user)

    def enqueue(self, query, data, user) -> None:
        bulk_status_task.enqueue(actor_id=user, query_string=query, status=data["status"])

    def done_message(self, count, data) -> str:
        return ngettext(
            "%(count)s customer changed status.", "%(count)s customers changed status.", count
        ) % {"count": f"{count:,}"}


class BulkArchiveView(BulkActionView):
    """Confirm, then archive the selected or all matching customers (history kept)."""

    permission_required = "customers.archive_customer"
    form_class = forms.Form
    template_name = "customers/bulk_archive_confirm.html"

    def apply(self, queryset, data, user) -> int:
        return services.bulk_archive(queryset=queryset, actor=user)

    def enqueue(self, query, data, user) -> None:
        bulk_archive_task.enqueue(actor_id=user, query_string=query)

    def done_message(self, count, data) -> str:
        return ngettext("%(count)s customer archived.", "%(count)s customers archived.", count) % {
            "count": f"{count:,}"
        }


class ExportView(PermissionRequiredMixin, FormView):
    """Choose columns and format; small exports download at once, large ones become a job."""

    permission_required = "customers.export_customer"
    raise_exception = True
    form_class = ExportForm
    template_name = "customers/export_form.html"

    def get_initial(self):
        source = self.request.POST if self.request.method == "POST" else self.request.GET
        scope = "selected" if source.get("scope") == "selected" else "all"
        ids = ",".join(pk for pk in source.getlist("ids") if is_id(pk)) if scope != "all" else ""
        return {
            "query": source.get("query", ""),
            "ids": ids,
            "scope": scope,
            "columns": export_columns_of(chosen_columns(self.request.user)),
            "file_format": "xlsx",
        }

    def post(self, request, *args, **kwargs):
        if "submitted" not in request.POST:
            # Arrived from the list's bulk bar: show the form with the selection, which must
            # not be empty ("Selected rows" with nothing ticked is refused like a bulk action).
            initial = self.get_initial()
            if initial["scope"] == "selected" and not initial["ids"]:
                messages.error(request, _("Select at least one customer, or choose all matching."))
                return redirect(f"{reverse('customers:list')}?{initial['query']}")
            form = self.form_class(initial=initial)
            return self.render_to_response(self.get_context_data(form=form))
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        query = form["query"].value() or ""
        ids = form["ids"].value() or ""
        try:
            queryset = selectors.customers_matching(query)
            if ids:
                queryset = queryset.filter(pk__in=parse_ids(str(ids).split(",")))
            count, more = selectors.capped_count(queryset, settings.LIST_COUNT_CAP)
            context["count"] = {"count": count, "capped": more}
        except ValidationError:
            context["count"] = None
        context["query"] = query
        return context

    def form_valid(self, form):
        try:
            job = jobs.create_export_job(
                user=self.request.user,
                query_string=form.cleaned_data["query"],
                columns=form.cleaned_data["columns"],
                file_format=form.cleaned_data["file_format"],
                selected_ids=form.cleaned_data["ids"],
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        if jobs.is_small(job):
            if job.file_format == "csv":
                return _stream_csv(job)
            job = jobs.run_export_job(job.pk)
            if job.status == ExportJob.Status.DONE:
                return _download(job)
            messages.error(self.request, _("The export failed: %(error)s") % {"error": job.error})
            return redirect(job)
        jobs.enqueue_export(job)
        messages.info(self.request, _("The export is large, so it runs in the background."))
        return redirect(job)


def _stream_csv(job: ExportJob) -> StreamingHttpResponse:
    queryset = export_queryset(job)
    columns = resolve_columns(job.columns)
    job.total_rows = queryset.count()
    job.status, job.started_at = ExportJob.Status.RUNNING, timezone.now()
    job.save(update_fields=["total_rows", "status", "started_at"])
    response = StreamingHttpResponse(
        _logged_when_sent(job, csv_lines(queryset, columns)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customers-{job.pk}.csv"'
    return response


def _logged_when_sent(job: ExportJob, lines):
    """Pass the CSV's lines on; the job is done once the last has gone, and failed (with the
    rows sent) when the download stops before it."""
    rows, finished = -2, False  # the BOM and the header come first
    try:
        for line in lines:
            yield line
            rows += 1
        finished = True
    finally:
        done = ExportJob.Status.DONE if finished else ExportJob.Status.FAILED
        error = (
            ""
            if finished
            else _("The download stopped after %(rows)s rows (the connection closed).")
            % {"rows": max(rows, 0)}
        )
        ExportJob.objects.filter(pk=job.pk).update(
            status=done, rows_done=max(rows, 0), error=error, finished_at=timezone.now()
        )


def _download(job: ExportJob) -> FileResponse:
    return FileResponse(
        job.file.open("rb"),
        as_attachment=True,
        filename=f"customers-{job.pk}.{job.file_format}",
    )


class ExportListView(PermissionRequiredMixin, ListView):
    permission_required = "customers.export_customer"
    raise_exception = True
    template_name = "customers/export_list.html"
    paginate_by = 25

    def get_queryset(self):
        queryset = ExportJob.objects.select_related("created_by")
        if not self.request.user.has_perm("customers.view_exportjob"):
            queryset = queryset.filter(created_by=self.request.user)
        return queryset


class ExportDetailView(PermissionRequiredMixin, DetailView):
    """The progress page of one export; htmx polls its status block."""

    permission_required = "customers.export_customer"
    raise_exception = True
    template_name = "customers/export_detail.html"
    context_object_name = "job"

    def get_queryset(self):
        return ExportListView.get_queryset(self)

    def get_template_names(self):
        if self.request.htmx:
            return [f"{self.template_name}#status"]
        return [self.template_name]


class ExportDownloadView(ExportDetailView):
    def get(self, request, *args, **kwargs):
        job = self.get_object()
        if not job.is_downloadable:
            messages.error(request, _("This download has expired or is not ready."))
            return redirect(job)
        return _download(job)


class ExportRetryView(RetryJobMixin, ExportDetailView):
    retry_job = staticmethod(jobs.retry_export)
    queued_message = gettext_lazy("The export was queued again.")

    def get_job(self):
        return self.get_object()
