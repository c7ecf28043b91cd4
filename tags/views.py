"""Tag management: the tag list, add / edit / delete, and manual tags on a customer."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView

from core.forms import is_id
from customers.bulk import BACKGROUND_MESSAGE, BulkActionView, start_bulk_change
from customers.models import BulkChange, Customer
from tags import services
from tags.forms import AssignTagsForm, BulkTagsForm, TagForm, TagSearchForm
from tags.models import CustomerTag, Tag
from tags.selectors import customer_tags


class TagListView(PermissionRequiredMixin, TemplateView):
    permission_required = "tags.view_tag"
    raise_exception = True
    template_name = "tags/tag_list.html"

    # Sort keys over {"tag", "customers"} rows; the counts come from the cache, not SQL.
    SORTS = {
        "name": lambda row: row["tag"].name.casefold(),
        "-customers": lambda row: (-row["customers"], row["tag"].name.casefold()),
        "-created_at": lambda row: -row["tag"].created_at.timestamp(),
        "kind": lambda row: (row["tag"].kind, row["tag"].name.casefold()),
    }

    def get_context_data(self, **kwargs):
        form = TagSearchForm(self.request.GET)
        valid = form.is_valid()
        query = form.cleaned_data.get("q", "") if valid else ""
        sort = (form.cleaned_data.get("sort") if valid else "") or "name"
        tags = Tag.objects.select_related("created_by")
        if query:
            tags = tags.filter(Q(name__icontains=query) | Q(description__icontains=query))
        counts = services.customer_counts()
        rows = [{"tag": tag, "customers": counts.get(tag.pk, 0)} for tag in tags]
        rows.sort(key=self.SORTS[sort])
        return super().get_context_data(rows=rows, form=form, query=query, **kwargs)


class _TagFormView(PermissionRequiredMixin, View):
    raise_exception = True
    template_name = "tags/tag_form.html"

    def get_tag(self):
        return Tag()

    def get(self, request, *args, **kwargs):
        tag = self.get_tag()
        return render(
            request, self.template_name, {"form": TagForm(instance=tag), "tag": tag.pk and tag}
        )

    def post(self, request, *args, **kwargs):
        tag = self.get_tag()
        form = TagForm(request.POST, instance=tag)
        if form.is_valid():
            try:
                services.save_tag(tag=form.instance, actor=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Tag “%(name)s” saved.") % {"name": form.instance.name})
                if form.instance.kind == Tag.Kind.AUTOMATIC:
                    _apply_in_background(request, [form.instance.pk])
                return redirect("tags:list")
        return render(
            request, self.template_name, {"form": form, "tag": tag.pk and tag}, status=400
        )


def _apply_in_background(request, tag_ids=None) -> None:
    start_bulk_change(
        kind=BulkChange.Kind.RULES, actor=request.user, parameters={"tag_ids": tag_ids}
    )
    messages.info(request, BACKGROUND_MESSAGE)


class ApplyRulesView(PermissionRequiredMixin, View):
    permission_required = "tags.change_tag"
    raise_exception = True

    def post(self, request):
        _apply_in_background(request)
        return redirect("tags:list")


class RuleFromFilterView(PermissionRequiredMixin, View):
    """Save the customer list's current filter as an automatic tag's rule (new or existing)."""

    permission_required = "tags.add_tag"
    raise_exception = True

    def post(self, request):
        query = request.POST.get("query", "")
        back = f"{reverse('customers:list')}?{query}"
        existing = request.POST.get("tag", "")
        try:
            rule = services.check_rule(query)
            if existing and not request.user.has_perm("tags.change_tag"):
                raise PermissionDenied  # rewriting a tag's rule is changing the tag
            if is_id(existing):
                tag = get_object_or_404(Tag, pk=existing, kind=Tag.Kind.AUTOMATIC)
                tag.rule = rule
            else:
                tag = Tag(name=request.POST.get("name", ""), kind=Tag.Kind.AUTOMATIC, rule=rule)
            services.save_tag(tag=tag, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        messages.success(
            request, _("The filter is now the rule of “%(name)s”.") % {"name": tag.name}
        )
        _apply_in_background(request, [tag.pk])
        return redirect(back)


class TagCreateView(_TagFormView):
    permission_required = "tags.add_tag"


class TagUpdateView(_TagFormView):
    permission_required = "tags.change_tag"

    def get_tag(self):
        return get_object_or_404(Tag, pk=self.kwargs["pk"])


class TagDeleteView(PermissionRequiredMixin, View):
    permission_required = "tags.delete_tag"
    raise_exception = True

    def get(self, request, pk):
        tag = get_object_or_404(Tag, pk=pk)
        count = CustomerTag.objects.filter(tag=tag).count()
        return render(request, "tags/tag_confirm_delete.html", {"tag": tag, "count": count})

    def post(self, request, pk):
        tag = get_object_or_404(Tag, pk=pk)
        removed = services.delete_tag(tag=tag, actor=request.user)
        messages.success(
            request,
            _("Tag “%(name)s” deleted and removed from %(n)s customers.")
            % {"name": tag.name, "n": f"{removed:,}"},
        )
        return redirect("tags:list")


class CustomerTagsView(PermissionRequiredMixin, View):
    """Add or remove manual tags on one customer; htmx gets the tag block back."""

    permission_required = "tags.assign_tag"
    raise_exception = True

    def post(self, request, customer_pk):
        customer = get_object_or_404(Customer, pk=customer_pk)
        error = None
        try:
            if "remove" in request.POST:
                if not is_id(request.POST["remove"]):
                    raise Http404
                tag = get_object_or_404(Tag, pk=request.POST["remove"])
                services.remove_manual(customer=customer, tag=tag, actor=request.user)
            else:
                form = AssignTagsForm(request.POST)
                if form.is_valid():
                    services.assign_manual(
                        customer=customer, tags=form.cleaned_data["tags"], actor=request.user
                    )
                else:
                    error = _("Choose one or more tags.")
        except ValidationError as problem:
            error = " ".join(problem.messages)
        if request.htmx:
            return render(
                request,
                "tags/includes/customer_tags.html",
                {"customer": customer, "tags": customer_tags(customer), "tag_error": error},
                status=400 if error else 200,
            )
        if error:
            messages.error(request, error)
        return redirect(customer)


class BulkTagsView(BulkActionView):
    """Tag or untag the selected customers, or all matching the list's filter; confirm first."""

    permission_required = "tags.assign_tag"
    form_class = BulkTagsForm
    template_name = "tags/bulk_confirm.html"
    invalid_message = gettext_lazy("Choose one or more tags.")

    def start_form(self, data):
        form = self.form_class(data)
        if not form.is_valid():
            automatic = form.errors.get("tags") if "tags" in data else None
            raise ValidationError(automatic or self.invalid_message)
        return form

    def confirm_context(self, form) -> dict:
        data = form.cleaned_data
        return {"tags": data.get("tags", []), "action": data.get("tag_action", "add")}

    def apply(self, queryset, data, user) -> int:
        if data["tag_action"] == "remove":
            return services.bulk_remove(queryset=queryset, tags=data["tags"], actor=user)
        return services.bulk_assign(queryset=queryset, tags=data["tags"], actor=user)

    def enqueue(self, query, data, user) -> None:
        start_bulk_change(
            kind=BulkChange.Kind.UNTAG if data["tag_action"] == "remove" else BulkChange.Kind.TAG,
            actor=user,
            query_string=query,
            parameters={"tag_ids": [tag.pk for tag in data["tags"]]},
        )

    def done_message(self, count, data) -> str:
        if data["tag_action"] == "remove":
            text = ngettext(
                "Removed %(names)s: %(n)s assignment.",
                "Removed %(names)s: %(n)s assignments.",
                count,
            )
        else:
            text = ngettext(
                "Added %(names)s: %(n)s new assignment (customers who had it are unchanged).",
                "Added %(names)s: %(n)s new assignments (customers who had it are unchanged).",
                count,
            )
        names = ", ".join(tag.name for tag in data["tags"])
        return text % {"names": names, "n": f"{count:,}"}
