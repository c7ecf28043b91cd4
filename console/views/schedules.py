"""Scheduled exports: the list, create / edit with a preview, a schedule's history, Run now,
and the downloads of the files it wrote (from the page, or from the emailed link)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import OuterRef, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import CreateView, DeleteView, DetailView, ListView, UpdateView

from console import schedules
from console.exports import DEFAULT_EXPORT_COLUMNS, export_column_choices
from console.forms import ScheduledExportForm
from console.models import ScheduledExport, ScheduledExportRun
from console.views.exports import serve_export
from customers import selectors
from customers.selectors import describe_filter


def _last_run(field: str):
    runs = ScheduledExportRun.objects.filter(schedule=OuterRef("pk")).order_by("-started_at", "-id")
    return Subquery(runs.values(field)[:1])


def describe_source(schedule: ScheduledExport, like=None) -> str:
    Source = ScheduledExport.Source
    if schedule.source == Source.AUDIENCE:
        if schedule.audience is None:
            return _("An audience that was deleted")
        return _("Audience “%(name)s”") % {"name": schedule.audience.name}
    if schedule.source == Source.SAVED_VIEW:
        if schedule.saved_view is None:
            return _("A saved view that was deleted")
        return _("Saved view “%(name)s”") % {"name": schedule.saved_view.name}
    return describe_filter(schedule.query_string, like=like) or _("All customers")


class ScheduleListView(PermissionRequiredMixin, ListView):
    permission_required = "console.view_scheduledexport"
    raise_exception = True
    template_name = "customers/schedule_list.html"
    context_object_name = "schedules"
    paginate_by = 50

    def get_queryset(self):
        return ScheduledExport.objects.select_related("owner", "audience", "saved_view").annotate(
            last_status=_last_run("status"),
            last_started_at=_last_run("started_at"),
            last_error=_last_run("error"),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        status = dict(ScheduledExportRun.Status.choices)
        like = selectors.customer_filterset("")  # reads rewards and custom fields once
        for schedule in context["schedules"]:
            schedule.timing = schedules.describe_timing(schedule)
            schedule.what = describe_source(schedule, like)
            schedule.last_status_label = status.get(schedule.last_status, "")
        return context


class ScheduleFormMixin(PermissionRequiredMixin):
    """Create and edit share the form, its preview (rows matching now, the next three runs)
    and the "Check" button that shows the preview without saving."""

    model = ScheduledExport
    form_class = ScheduledExportForm
    template_name = "customers/schedule_form.html"
    raise_exception = True

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

    def form_valid(self, form):
        if "preview" in self.request.POST:
            return self.render_to_response(self.get_context_data(form=form))
        form.instance.owner = form.instance.owner or self.request.user
        schedule = schedules.save_schedule(form.save(commit=False))
        messages.success(self.request, _("The schedule “%(name)s” was saved.") % {"name": schedule})
        return redirect(schedule)

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = context["form"]
        schedule = None
        if (form.is_bound and form.is_valid()) or (not form.is_bound and form.instance.pk):
            schedule = form.instance
        context["preview"] = _preview(schedule) if schedule is not None else None
        context["time_zone"] = settings.TIME_ZONE
        return context


def _preview(schedule: ScheduledExport) -> dict:
    """Rows the schedule would export now (counted up to the list's cap) and its next runs."""
    preview = {"runs": schedules.next_runs(schedule, timezone.now(), 3), "count": None}
    try:
        queryset = selectors.customers_matching(schedules.source_rule(schedule))
    except ValidationError as error:
        preview["error"] = " ".join(error.messages)
        return preview
    count, capped = selectors.capped_count(queryset, settings.LIST_COUNT_CAP)
    preview["count"] = {"count": count, "capped": capped}
    return preview


class ScheduleCreateView(ScheduleFormMixin, CreateView):
    permission_required = "console.add_scheduledexport"

    def get_initial(self):
        return {
            "query_string": self.request.GET.get("query", ""),
            "columns": DEFAULT_EXPORT_COLUMNS,
            "time_of_day": "07:00",
        }


class ScheduleUpdateView(ScheduleFormMixin, UpdateView):
    permission_required = "console.change_scheduledexport"


class ScheduleDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "console.view_scheduledexport"
    raise_exception = True
    model = ScheduledExport
    template_name = "customers/schedule_detail.html"
    context_object_name = "schedule"
    runs_shown = 50

    def get_queryset(self):
        return ScheduledExport.objects.select_related("owner", "audience", "saved_view")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        schedule = self.object
        context["timing"] = schedules.describe_timing(schedule)
        context["what"] = describe_source(schedule)
        labels = dict(export_column_choices(self.request.user))
        context["column_labels"] = [str(labels.get(key, key)) for key in schedule.columns]
        context["next_runs"] = (
            schedules.next_runs(schedule, timezone.now(), 3) if schedule.enabled else []
        )
        context["runs"] = schedule.runs.select_related("job", "requested_by")[: self.runs_shown]
        context["may_download"] = self.request.user.has_perm("customers.export_customer")
        return context


class ScheduleRunNowView(PermissionRequiredMixin, View):
    permission_required = "console.change_scheduledexport"
    raise_exception = True

    def post(self, request, pk):
        schedule = get_object_or_404(ScheduledExport, pk=pk)
        schedules.run_now(schedule, request.user)
        messages.success(
            request, _("“%(name)s” is running now; its result appears below.") % {"name": schedule}
        )
        return redirect(schedule)


class ScheduleDeleteView(PermissionRequiredMixin, DeleteView):
    permission_required = "console.delete_scheduledexport"
    raise_exception = True
    model = ScheduledExport
    template_name = "customers/schedule_confirm_delete.html"
    context_object_name = "schedule"
    success_url = reverse_lazy("customers:schedules")

    def form_valid(self, form):
        messages.success(
            self.request,
            _("The schedule “%(name)s” was deleted; the files it wrote stay in the folder.")
            % {"name": self.object},
        )
        return super().form_valid(form)


def _serve_run(request, run: ScheduledExportRun):
    if run.job is None or not run.job.is_downloadable:
        messages.error(request, _("This file has expired or was not written."))
        return redirect(run.schedule)
    return serve_export(run.job, request.user)


class ScheduleRunDownloadView(PermissionRequiredMixin, View):
    """A run's file, for those who may see the schedule and export."""

    permission_required = ("console.view_scheduledexport", "customers.export_customer")
    raise_exception = True

    def get(self, request, pk, run_pk):
        run = get_object_or_404(
            ScheduledExportRun.objects.select_related("job", "schedule"), pk=run_pk, schedule=pk
        )
        return _serve_run(request, run)


class ScheduleLinkDownloadView(LoginRequiredMixin, View):
    """The emailed link: it names one run's file and expires with the file; the recipient signs
    in, and must be staff who may export."""

    def get(self, request, token):
        if not request.user.has_perm("customers.export_customer"):
            raise PermissionDenied
        run = schedules.run_for_token(token)
        if run is None:
            raise Http404(_("This link is not valid or has expired."))
        return _serve_run(request, run)
