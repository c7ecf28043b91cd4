"""The customer list, its filter options and its columns."""

from functools import reduce
from operator import or_

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db.models import Q
from django.http import (
    Http404,
    JsonResponse,
)
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django_filters.views import FilterView

from audiences.models import Audience
from console import results
from console.forms import (
    BulkStatusForm,
    ColumnsForm,
    SavedViewForm,
)
from console.results import PAGE_PARAMS, ListResults, _query_without_page, chosen_columns
from console.tables import (
    CHOOSABLE_COLUMNS,
    NUMERIC_COLUMNS,
    SORTS,
    CustomerTable,
    ordering_for,
)
from core.forms import is_id
from core.pagination import InvalidCursor, keyset_page
from core.views import safe_next
from customers import selectors
from customers.filters import CustomerFilterSet, panel_sections
from customers.models import (
    Customer,
    ListPreference,
    Store,
)
from ranks.models import Rank
from tags.models import Tag


class CustomerListView(PermissionRequiredMixin, FilterView):
    """The filterable customer list; htmx requests get only the results block.

    Pages are keyset pages (core.pagination): the 5,000th costs what the first does.
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
                results.PER_PAGE,
                after=get.get("after", ""),
                before=get.get("before", ""),
            ), ""
        except InvalidCursor as error:
            return keyset_page(self.object_list, ordering, results.PER_PAGE), str(error)

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
        context["query"] = _query_without_page(self.request, "rule_for", "audience_rule_for")
        context["archived"] = bool(filterset.form.cleaned_data.get("archived")) if valid else False
        context["rank_preview"] = filterset.form.cleaned_data.get("rank_preview") if valid else ""
        rule_for = self.request.GET.get("rule_for", "")
        context["rule_tag"] = (
            Tag.objects.filter(pk=rule_for, kind=Tag.Kind.AUTOMATIC).first()
            if is_id(rule_for) and self.request.user.has_perm("tags.change_tag")
            else None
        )
        audience_rule_for = self.request.GET.get("audience_rule_for", "")
        context["rule_audience"] = (
            Audience.objects.filter(pk=audience_rule_for, kind=Audience.Kind.DYNAMIC).first()
            if is_id(audience_rule_for) and self.request.user.has_perm("audiences.change_audience")
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
            if key not in {"q", "sort", "archived", "rank_preview", "rule_for", "audience_rule_for"}
            and key not in PAGE_PARAMS
            for value in values
        )
        return context


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
        "audiences": (lambda: Audience.objects.filter(archived=False), ("name",)),
        # Static audiences, for adding and removing members from the list's bulk bar.
        "static-audiences": (
            lambda: Audience.objects.filter(kind=Audience.Kind.STATIC, archived=False),
            ("name",),
        ),
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
        return redirect(safe_next(request, reverse("customers:list")))
