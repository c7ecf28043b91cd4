"""The import wizard: upload → map columns and options → dry run → run → report → undo; and the
history of every import."""

from itertools import islice

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import ListView

from core.files import FileRejected
from core.forms import is_id
from core.views import RetryJobMixin
from migration import jobs
from migration.forms import MappingForm, UndoForm, UploadForm
from migration.models import ImportJob, MappingProfile
from migration.progress import live
from migration.undo import UndoRefused, plan, queue_undo

SAMPLE_ROWS = 3


class ImportListView(PermissionRequiredMixin, ListView):
    permission_required = "migration.view_importjob"
    raise_exception = True
    template_name = "migration/import_list.html"
    paginate_by = 50

    def get_queryset(self):
        return ImportJob.objects.select_related("created_by").exclude(status=ImportJob.Status.DRAFT)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for job in context["object_list"]:
            live(job)  # a running import's count as last published (SQLite)
            job.stalled = job.is_stalled()
        return context


class UploadView(PermissionRequiredMixin, View):
    permission_required = "migration.add_importjob"
    raise_exception = True
    template_name = "migration/upload.html"

    def get(self, request):
        return render(request, self.template_name, {"form": UploadForm()})

    def post(self, request):
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                job = jobs.create_job(
                    upload=upload,
                    name=upload.name,
                    user=request.user,
                    encoding=form.cleaned_data["encoding"],
                    delimiter=form.cleaned_data["delimiter"],
                    sheet=form.cleaned_data["sheet"],
                )
            except FileRejected as error:
                form.add_error("file", str(error))
            else:
                return redirect("migration:map", job.pk)
        return render(request, self.template_name, {"form": form}, status=400)


class MapView(PermissionRequiredMixin, View):
    """Step 2: a field for every column (suggested from the headers or a saved profile) and
    the run's options; submitting starts the dry run."""

    permission_required = "migration.add_importjob"
    raise_exception = True
    template_name = "migration/map.html"

    def get_job(self, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        if not (job.status == ImportJob.Status.DRAFT or (job.dry_run and not job.is_active)):
            return None
        return job

    def form(self, job, data=None, initial=None):
        source = jobs.source_of(job)
        samples = [cells for _number, cells in islice(source.rows(), SAMPLE_ROWS)]
        return MappingForm(
            data,
            headers=job.headers,
            samples=samples,
            definitions=jobs.active_definitions(),
            initial=initial,
        )

    def initial(self, job, profile=None):
        mapping = dict(job.mapping)
        match_key = job.match_key
        if profile is not None:
            mapping = {
                str(position): profile.mapping[header]
                for position, header in enumerate(job.headers)
                if profile.mapping.get(header)
            }
            match_key = profile.match_key
        initial = {f"col_{position}": name for position, name in mapping.items()}
        initial.update(
            match_key=match_key,
            policy=job.policy,
            create_tags=job.create_tags,
            empty_clears=job.empty_clears,
        )
        return initial

    def render(self, request, job, form, status=200):
        context = {
            "job": job,
            "form": form,
            "profiles": MappingProfile.objects.all(),
            "unmapped_hint": _("Columns left on “ignore” are reported and skipped."),
        }
        return render(request, self.template_name, context, status=status)

    def get(self, request, pk):
        job = self.get_job(pk)
        if job is None:
            return redirect("migration:detail", pk)
        profile = None
        if is_id(request.GET.get("profile", "")):
            profile = MappingProfile.objects.filter(pk=request.GET["profile"]).first()
        try:
            form = self.form(job, initial=self.initial(job, profile))
        except (FileRejected, OSError, ValueError) as error:
            messages.error(
                request, _("The file cannot be read again: %(error)s") % {"error": error}
            )
            return redirect("migration:detail", pk)
        return self.render(request, job, form)

    def post(self, request, pk):
        job = self.get_job(pk)
        if job is None:
            return redirect("migration:detail", pk)
        try:
            form = self.form(job, request.POST)
        except (FileRejected, OSError, ValueError) as error:
            messages.error(
                request, _("The file cannot be read again: %(error)s") % {"error": error}
            )
            return redirect("migration:detail", pk)
        if form.is_valid():
            try:
                mapping = jobs.check_mapping(
                    form.mapping(), job.headers, form.cleaned_data["match_key"]
                )
            except ValidationError as error:
                for message in error.messages:
                    form.add_error(None, message)
            else:
                job.mapping = mapping
                job.match_key = form.cleaned_data["match_key"]
                job.policy = form.cleaned_data["policy"]
                job.create_tags = form.cleaned_data["create_tags"]
                job.empty_clears = form.cleaned_data["empty_clears"]
                job.save()
                if form.cleaned_data["save_profile"]:
                    try:
                        with transaction.atomic():  # the name is unique, whatever came first
                            MappingProfile.objects.create(
                                name=form.cleaned_data["save_profile"],
                                mapping={job.headers[int(p)]: name for p, name in mapping.items()},
                                match_key=job.match_key,
                                created_by=request.user,
                            )
                    except IntegrityError:
                        messages.warning(
                            request,
                            _(
                                "A mapping profile named “%(name)s” was saved meanwhile; this "
                                "mapping was not saved under that name."
                            )
                            % {"name": form.cleaned_data["save_profile"]},
                        )
                    else:
                        messages.success(request, _("Mapping profile saved."))
                jobs.queue(job, dry_run=True)
                return redirect("migration:detail", job.pk)
        return self.render(request, job, form, status=400)


class ImportDetailView(PermissionRequiredMixin, View):
    """Progress while it runs (htmx polls the status block), then the report."""

    permission_required = "migration.view_importjob"
    raise_exception = True
    template_name = "migration/import_detail.html"

    def get(self, request, pk):
        job = live(get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk))
        job.stalled = job.is_stalled()
        if job.status == ImportJob.Status.DRAFT:
            return redirect("migration:map", pk)
        template = self.template_name
        if request.htmx:
            template += "#status"
        run = jobs.import_of(job) if job.dry_run and not job.is_active else None
        return render(request, template, {"job": job, "run": run})


class RunView(PermissionRequiredMixin, View):
    permission_required = "migration.add_importjob"
    raise_exception = True

    def post(self, request, pk):
        dry = get_object_or_404(ImportJob, pk=pk)
        try:
            job = jobs.run_for_real(dry, user=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("migration:detail", pk)
        messages.info(request, _("The import is running; this page updates by itself."))
        return redirect("migration:detail", job.pk)


class RetryView(RetryJobMixin, PermissionRequiredMixin, View):
    permission_required = "migration.add_importjob"
    raise_exception = True
    retry_job = staticmethod(jobs.retry)
    queued_message = gettext_lazy("The import was queued again.")

    def get_job(self):
        return get_object_or_404(ImportJob, pk=self.kwargs["pk"])


class UndoView(PermissionRequiredMixin, View):
    permission_required = "migration.undo_importjob"
    raise_exception = True
    template_name = "migration/undo_confirm.html"

    def context(self, job, form):
        steps = plan(job)
        return {
            "job": job,
            "form": form,
            "deleting": len(steps["created"]),
            "restoring": len(set(steps["previous"]) | set(steps["points"])),
            "changed_since": steps["changed_since"][:20],
            "changed_count": len(steps["changed_since"]),
            "has_history": steps["has_history"][:20],
        }

    def get(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        if not job.can_undo:
            messages.error(request, _("This import has nothing to undo."))
            return redirect("migration:detail", pk)
        return render(request, self.template_name, self.context(job, UndoForm()))

    def post(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        form = UndoForm(request.POST)
        if not form.is_valid():
            return render(request, self.template_name, self.context(job, form), status=400)
        try:
            queue_undo(job, actor=request.user, force=form.cleaned_data["force"])
        except UndoRefused as error:
            messages.error(request, str(error))
        else:
            messages.info(request, _("Undoing the import; this page updates by itself."))
        return redirect("migration:detail", pk)


class ErrorFileView(PermissionRequiredMixin, View):
    permission_required = "migration.view_importjob"
    raise_exception = True

    def get(self, request, pk):
        job = get_object_or_404(ImportJob, pk=pk)
        if not job.error_file:
            raise Http404
        return FileResponse(
            job.error_file.open("rb"),
            as_attachment=True,
            filename=f"import-{job.pk}-problems.xlsx",
        )
