"""Audience pages: the list, the audience (metrics, why in / out, overlap, history, jobs),
create / edit / freeze / archive / delete, members from a file or typed, and the customer
list's "Save as audience" and bulk add / remove."""

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import DetailView, TemplateView

from audiences import files, selectors, services
from audiences.forms import (
    AudienceForm,
    AudienceSearchForm,
    BulkAudienceForm,
    MembersFileForm,
    PickMembersForm,
    SaveFromListForm,
    WhyForm,
)
from audiences.models import Audience, AudienceJob, AudienceMember
from core.files import FileRejected
from core.forms import is_id
from core.views import RetryJobMixin
from customers.bulk import BulkActionView, start_bulk_change
from customers.models import BulkChange, Customer
from customers.selectors import find_customer, ids_by_identifier


class AudienceListView(PermissionRequiredMixin, TemplateView):
    permission_required = "audiences.view_audience"
    raise_exception = True
    template_name = "audiences/audience_list.html"

    def get_context_data(self, **kwargs):
        form = AudienceSearchForm(self.request.GET)
        data = form.cleaned_data if form.is_valid() else {}
        audiences = selectors.audiences_for_list(
            query=data.get("q", ""),
            sort=data.get("sort") or "name",
            archived=bool(data.get("archived")),
        )
        return super().get_context_data(
            audiences=audiences,
            form=form,
            query=data.get("q", ""),
            sort=data.get("sort") or "name",
            archived=bool(data.get("archived")),
            **kwargs,
        )


class AudienceDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "audiences.view_audience"
    raise_exception = True
    model = Audience
    template_name = "audiences/audience_detail.html"

    def get_queryset(self):
        return Audience.objects.select_related("owner")

    def get_context_data(self, **kwargs):
        audience = self.object
        context = super().get_context_data(**kwargs)
        context["rule_words"] = selectors.rule_in_words(audience)
        context["metrics"] = selectors.metrics(audience)
        context["history"] = audience.changes.select_related("actor")[:20]
        context["jobs"] = audience.jobs.select_related("created_by")[:5]
        why = WhyForm(self.request.GET)
        context["why_form"] = why
        who = why.cleaned_data.get("who", "").strip() if why.is_valid() else ""
        if who:
            customer = find_customer(who)
            context["why_customer"] = customer
            context["why"] = selectors.explain(audience, customer) if customer else None
        others = (
            Audience.objects.exclude(pk=audience.pk).filter(archived=False).order_by("name_key")
        )
        context["others"] = others.only("pk", "name")
        compare = self.request.GET.get("compare", "")
        if is_id(compare):
            other = others.filter(pk=compare).first()
            if other is not None:
                context["compare"] = other
                context["overlap"] = selectors.overlap(audience, other)
        context["file_form"] = MembersFileForm()
        context["pick_form"] = PickMembersForm()
        return context


class AudienceJobView(PermissionRequiredMixin, DetailView):
    """A snapshot's or a file's progress (htmx polls its status block), and its outcome."""

    permission_required = "audiences.view_audience"
    raise_exception = True
    template_name = "audiences/job_detail.html"
    context_object_name = "job"

    def get_queryset(self):
        return AudienceJob.objects.select_related("audience", "created_by")

    def get_template_names(self):
        if self.request.htmx:
            return [f"{self.template_name}#status"]
        return [self.template_name]


class AudienceJobErrorsView(AudienceJobView):
    """The file of lines that named no customer."""

    def get(self, request, *args, **kwargs):
        job = self.get_object()
        if not job.error_file:
            raise Http404
        return FileResponse(
            job.error_file.open("rb"),
            as_attachment=True,
            filename=f"unmatched-{job.audience_id}-{job.pk}.csv",
            content_type="text/csv",
        )


class AudienceJobRetryView(PermissionRequiredMixin, RetryJobMixin, View):
    permission_required = "audiences.change_audience"
    raise_exception = True
    queued_message = gettext_lazy("Queued again.")
    retry_job = staticmethod(lambda job: job.retry())

    def get_job(self):
        return get_object_or_404(AudienceJob, pk=self.kwargs["pk"])


class _AudienceFormView(PermissionRequiredMixin, View):
    raise_exception = True
    template_name = "audiences/audience_form.html"

    def get_audience(self) -> Audience:
        raise NotImplementedError

    def render(self, form, status=200):
        audience = form.instance
        return render(
            self.request,
            self.template_name,
            {"form": form, "audience": audience if audience.pk else None},
            status=status,
        )

    def get(self, request, *args, **kwargs):
        initial = {"rule": request.GET.get("rule", "")}
        return self.render(AudienceForm(instance=self.get_audience(), initial=initial))

    def post(self, request, *args, **kwargs):
        form = AudienceForm(request.POST, instance=self.get_audience())
        if form.is_valid():
            audience = form.instance
            try:
                services.save_audience(
                    audience=audience,
                    actor=request.user,
                    everyone_ok=form.cleaned_data.get("everyone", False),
                )
            except ValidationError as error:
                if isinstance(error, services.SelectsEveryone):
                    form.ask_everyone()
                form.add_error(None, error)
            else:
                messages.success(request, _("Audience “%(name)s” saved.") % {"name": audience})
                return redirect(audience)
        return self.render(form, status=400)


class AudienceCreateView(_AudienceFormView):
    permission_required = "audiences.add_audience"

    def get_audience(self):
        return Audience(owner=self.request.user)


class AudienceUpdateView(_AudienceFormView):
    permission_required = "audiences.change_audience"

    def get_audience(self):
        return get_object_or_404(Audience, pk=self.kwargs["pk"])


class SaveFromListView(PermissionRequiredMixin, View):
    """The customer list's "Save as audience": dynamic (its filter) or static (who matches
    now). A filter that selects everyone goes to the form, which asks for confirmation."""

    permission_required = "audiences.add_audience"
    raise_exception = True

    def post(self, request):
        form = SaveFromListForm(request.POST)
        query = request.POST.get("query", "")
        back = f"{reverse('customers:list')}?{query}"
        if not form.is_valid():
            messages.error(request, _("Give the audience a name."))
            return redirect(back)
        data = form.cleaned_data
        try:
            if data["kind"] == Audience.Kind.DYNAMIC:
                audience = Audience(name=data["name"], kind=Audience.Kind.DYNAMIC, rule=query)
                services.save_audience(audience=audience, actor=request.user)
                job = None
            else:
                audience, job = services.create_static_from_rule(
                    name=data["name"], description="", rule=query, actor=request.user
                )
        except ValidationError as error:
            if isinstance(error, services.SelectsEveryone):
                audience_form = AudienceForm(
                    initial={"name": data["name"], "kind": data["kind"], "rule": query}
                )
                audience_form.ask_everyone()
                messages.warning(request, " ".join(error.messages))
                return render(
                    request, "audiences/audience_form.html", {"form": audience_form}, status=400
                )
            messages.error(request, " ".join(error.messages))
            return redirect(back)
        if job is not None and job.is_active:
            messages.info(request, _("The snapshot runs in the background; its progress is below."))
        else:
            messages.success(request, _("Audience “%(name)s” saved.") % {"name": audience})
        return redirect(audience)


class AudienceActionView(PermissionRequiredMixin, View):
    """A POST on one audience that ends back on its page with a message."""

    permission_required = "audiences.change_audience"
    raise_exception = True

    def act(self, audience: Audience) -> str:
        raise NotImplementedError

    def post(self, request, pk):
        audience = get_object_or_404(Audience, pk=pk)
        try:
            message = self.act(audience)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, message)
        return redirect(audience)


class RecountView(AudienceActionView):
    permission_required = "audiences.view_audience"

    def act(self, audience):
        size = services.refresh_size(audience)
        return ngettext("Counted: %(n)s member.", "Counted: %(n)s members.", size) % {
            "n": f"{size:,}"
        }


class FreezeView(AudienceActionView):
    def act(self, audience):
        job = services.start_snapshot(
            audience=audience, kind=AudienceJob.Kind.FREEZE, actor=self.request.user
        )
        if job.is_active:
            return _("Freezing in the background; the progress is below.")
        if job.status == AudienceJob.Status.FAILED:
            raise ValidationError(job.error)
        return _("“%(name)s” is now a static snapshot.") % {"name": audience}


class ArchiveView(AudienceActionView):
    def act(self, audience):
        archived = self.request.POST.get("archived") != "false"
        services.set_archived(audience=audience, archived=archived, actor=self.request.user)
        if archived:
            return _("“%(name)s” archived.") % {"name": audience}
        return _("“%(name)s” restored.") % {"name": audience}


class PickMembersView(AudienceActionView):
    def act(self, audience):
        form = PickMembersForm(self.request.POST)
        if not form.is_valid():
            raise ValidationError(form.errors["identifiers"])
        values = form.cleaned_data["identifiers"]
        found = ids_by_identifier(values)
        missing = [value for value in values if value not in found]
        added = services.add_members(
            audience=audience,
            queryset=Customer.objects.filter(pk__in=set(found.values())),
            actor=self.request.user,
            source=AudienceMember.Source.MANUAL,
        )
        message = ngettext("%(n)s customer added.", "%(n)s customers added.", added) % {"n": added}
        if missing:
            messages.warning(
                self.request,
                _("No customer found for: %(values)s") % {"values": ", ".join(missing[:20])},
            )
        return message


class MembersFileView(PermissionRequiredMixin, View):
    permission_required = "audiences.change_audience"
    raise_exception = True

    def post(self, request, pk):
        audience = get_object_or_404(Audience, pk=pk)
        form = MembersFileForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = files.start_file_job(
                    audience=audience,
                    upload=form.cleaned_data["file"],
                    remove=form.cleaned_data["action"] == "remove",
                    actor=request.user,
                )
            except (FileRejected, ValidationError) as error:
                form.add_error("file", " ".join(getattr(error, "messages", [str(error)])))
            else:
                return redirect("audiences:job", pk=job.pk)
        return render(
            request,
            "audiences/members_file.html",
            {"audience": audience, "form": form},
            status=400,
        )


class AudienceDeleteView(PermissionRequiredMixin, View):
    permission_required = "audiences.delete_audience"
    raise_exception = True
    template_name = "audiences/audience_confirm_delete.html"

    def get(self, request, pk):
        audience = get_object_or_404(Audience, pk=pk)
        users = services.rule_users(audience)
        return render(request, self.template_name, {"audience": audience, "users": users})

    def post(self, request, pk):
        audience = get_object_or_404(Audience, pk=pk)
        try:
            services.delete_audience(audience=audience, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(audience)
        messages.success(request, _("Audience “%(name)s” deleted.") % {"name": audience.name})
        return redirect("audiences:list")


class BulkAudienceView(BulkActionView):
    """The customer list's "Add to audience…" / "Remove from audience…" (static audiences)."""

    permission_required = "audiences.change_audience"
    form_class = BulkAudienceForm
    template_name = "audiences/bulk_confirm.html"
    invalid_message = gettext_lazy("Choose a static audience.")

    def apply(self, queryset, data, user) -> int:
        if data["audience_action"] == "add":
            return services.add_members(audience=data["audience"], queryset=queryset, actor=user)
        return services.remove_members(audience=data["audience"], queryset=queryset, actor=user)

    def enqueue(self, query, data, user) -> None:
        kind = (
            BulkChange.Kind.AUDIENCE_ADD
            if data["audience_action"] == "add"
            else BulkChange.Kind.AUDIENCE_REMOVE
        )
        start_bulk_change(
            kind=kind, actor=user, query_string=query, parameters={"audience": data["audience"].pk}
        )

    def done_message(self, count, data) -> str:
        name = data["audience"].name
        if data["audience_action"] == "add":
            text = ngettext(
                "%(count)s customer added to “%(name)s”.",
                "%(count)s customers added to “%(name)s”.",
                count,
            )
        else:
            text = ngettext(
                "%(count)s customer removed from “%(name)s”.",
                "%(count)s customers removed from “%(name)s”.",
                count,
            )
        return text % {"count": f"{count:,}", "name": name}


class RuleFromListView(PermissionRequiredMixin, View):
    """The customer list's "Save as its rule" for a dynamic audience being edited there."""

    permission_required = "audiences.change_audience"
    raise_exception = True

    def post(self, request, pk):
        audience = get_object_or_404(Audience, pk=pk, kind=Audience.Kind.DYNAMIC)
        query = request.POST.get("query", "")
        audience.rule = query
        try:
            services.save_audience(audience=audience, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect(f"{reverse('customers:list')}?{query}&audience_rule_for={pk}")
        messages.success(request, _("The rule of “%(name)s” is saved.") % {"name": audience})
        return redirect(audience)
