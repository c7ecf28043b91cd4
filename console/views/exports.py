"""Exports: choose columns and format, download, the export log, retry."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import (
    FileResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import DetailView, FormView, ListView, TemplateView

from console import jobs
from console.exports import (
    csv_lines,
    export_column_choices,
    export_queryset,
    resolve_columns,
)
from console.forms import (
    ExportForm,
)
from console.results import chosen_columns, export_columns_of
from core.dates import day_end, day_start
from core.forms import BootstrapFormMixin, is_id, parse_ids
from core.pagination import InvalidCursor, keyset_page
from core.views import RetryJobMixin
from customers import selectors
from customers.models import ExportDownload, ExportJob


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
            form = self.form_class(initial=initial, user=request.user)
            return self.render_to_response(self.get_context_data(form=form))
        return super().post(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "user": self.request.user}

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
                return serve_export(job, self.request.user)
            messages.error(self.request, _("The export failed: %(error)s") % {"error": job.error})
            return redirect(job)
        job.enqueue()
        messages.info(self.request, _("The export is large, so it runs in the background."))
        return redirect(job)


def _stream_csv(job: ExportJob) -> StreamingHttpResponse:
    queryset = export_queryset(job)
    columns = resolve_columns(job.columns)
    job.total_rows = queryset.count()
    job.status, job.started_at = ExportJob.Status.RUNNING, timezone.now()
    job.save(update_fields=["total_rows", "status", "started_at"])
    ExportDownload.objects.create(job=job, user=job.created_by)
    response = StreamingHttpResponse(
        _logged_when_sent(job, csv_lines(queryset, columns)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="customers-{job.pk}.csv"'
    return response


def _logged_when_sent(job: ExportJob, lines):
    """Pass the CSV's lines on; the job is done once the last has gone, and failed (with the
    rows sent) when the download stops before it."""
    rows, finished, size = -2, False, 0  # the BOM and the header come first
    try:
        for line in lines:
            yield line
            rows += 1
            size += len(line.encode())
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
            status=done,
            rows_done=max(rows, 0),
            error=error,
            finished_at=timezone.now(),
            file_size=size,
        )


def serve_export(job: ExportJob, user) -> FileResponse:
    """The export's file, its download put on the export log."""
    ExportDownload.objects.create(job=job, user=user)
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
        return serve_export(job, request.user)


class ExportRetryView(RetryJobMixin, ExportDetailView):
    retry_job = staticmethod(ExportJob.retry)
    queued_message = gettext_lazy("The export was queued again.")

    def get_job(self):
        return self.get_object()


VIA_CHOICES = [
    ("", gettext_lazy("Any way")),
    ("web", gettext_lazy("The web page")),
    ("command", gettext_lazy("A command")),
    ("schedule", gettext_lazy("A schedule")),
]


class ExportLogFilterForm(BootstrapFormMixin, forms.Form):
    staff = forms.CharField(label=gettext_lazy("Staff username"), required=False, max_length=150)
    via = forms.ChoiceField(label=gettext_lazy("Through"), required=False, choices=VIA_CHOICES)
    date_from = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ExportLogView(PermissionRequiredMixin, TemplateView):
    """Every export, whoever made it and however: the filter in words, columns, rows, file
    size, duration and each download (Administrators)."""

    permission_required = "customers.view_exportdownload"
    raise_exception = True
    template_name = "customers/export_log.html"
    per_page = 50

    def get_context_data(self, **kwargs):
        form = ExportLogFilterForm(self.request.GET)
        data = form.cleaned_data if form.is_valid() else {}
        rows = ExportJob.objects.select_related("created_by").prefetch_related(
            Prefetch("downloads", queryset=ExportDownload.objects.select_related("user"))
        )
        if data.get("staff"):
            rows = rows.filter(created_by__username__iexact=data["staff"].strip())
        if data.get("via"):
            rows = rows.filter(via=data["via"])
        if data.get("date_from"):
            rows = rows.filter(created_at__gte=day_start(data["date_from"]))
        if data.get("date_to"):
            rows = rows.filter(created_at__lt=day_end(data["date_to"]))
        get = self.request.GET
        ordering = ["-created_at", "-id"]
        try:
            page = keyset_page(
                rows,
                ordering,
                self.per_page,
                after=get.get("after", ""),
                before=get.get("before", ""),
            )
        except InvalidCursor:
            page = keyset_page(rows, ordering, self.per_page)
        labels = dict(export_column_choices())
        for job in page.rows:
            job.column_labels = [str(labels.get(key, key)) for key in job.columns]
            job.duration = None
            if job.started_at and job.finished_at:
                job.duration = (job.finished_at - job.started_at).total_seconds()
        query = get.copy()
        for name in ("after", "before"):
            query.pop(name, None)
        return super().get_context_data(
            form=form,
            page=page,
            filter_query=query.urlencode(),
            filtered=any(data.values()),
            **kwargs,
        )
