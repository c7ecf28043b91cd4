"""Wholesale pages: the public application and its one-time link; for staff the queue, an
application's review page and decisions, documents, manual creation, revoking, conditions."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View
from django.views.generic import DetailView, FormView, TemplateView

from core.pagination import InvalidCursor, keyset_page
from core.ratelimit import allow
from core.views import safe_next
from customers.models import Customer
from wholesale import selectors, services
from wholesale.forms import (
    ApplicationForm,
    ApproveForm,
    BulkDecisionForm,
    ConditionsForm,
    InfoRequestForm,
    MoreInformationForm,
    QueueFilterForm,
    ReasonForm,
    RejectForm,
)
from wholesale.models import (
    OPEN_STATUSES,
    ApplicationDocument,
    ApplicationEvent,
    ConditionsChange,
    Status,
    WholesaleApplication,
)

PER_PAGE = 50
QUEUE_ORDER = ["submitted_at", "id"]


# --- Public pages ------------------------------------------------------------------------------


def _client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@method_decorator(login_not_required, name="dispatch")
class ApplyView(FormView):
    """The public application page: no login, CSRF, a honeypot and rate limits."""

    template_name = "wholesale/public/apply.html"
    form_class = ApplicationForm

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.conditions = selectors.get_conditions()

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "conditions": self.conditions}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            conditions=self.conditions,
            required_documents=selectors.document_labels(self.conditions.required_documents),
            max_mb=settings.WHOLESALE_DOCUMENT_MAX_MB,
            **kwargs,
        )

    def post(self, request, *args, **kwargs):
        if not allow(
            "wholesale-apply-ip",
            _client_address(request),
            limit=settings.WHOLESALE_APPLY_PER_IP_PER_HOUR,
            window=3600,
        ):
            return self._refuse(
                _("Too many applications were sent from this connection. Try again in an hour.")
            )
        return super().post(request, *args, **kwargs)

    def _refuse(self, message, form=None):
        form = form or self.get_form()
        form.is_valid()
        form.add_error(None, message)
        return self.render_to_response(self.get_context_data(form=form), status=429)

    def form_valid(self, form):
        if form.is_bot:
            # Answer as if it worked: a bot learns nothing, and nothing is stored or sent.
            return redirect("wholesale_public:done")
        phone = form.cleaned_data["phone"]
        if not allow(
            "wholesale-apply-phone",
            phone,
            limit=settings.WHOLESALE_APPLY_PER_PHONE_PER_DAY,
            window=86400,
        ):
            return self._refuse(
                _("This mobile number was used for too many applications today."), form
            )
        try:
            application = services.submit_application(
                data=form.application_data(), files=form.document_files()
            )
        except services.DuplicateApplication as error:
            form.add_error(None, error)
            return self.render_to_response(
                self.get_context_data(form=form, existing=error.existing.reference)
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        self.request.session["wholesale_reference"] = application.reference
        return redirect("wholesale_public:done")


@method_decorator(login_not_required, name="dispatch")
class ApplyDoneView(TemplateView):
    template_name = "wholesale/public/done.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            reference=self.request.session.get("wholesale_reference", ""), **kwargs
        )


@method_decorator(login_not_required, name="dispatch")
class MoreInformationView(FormView):
    """The one-time link: the applicant corrects details and adds documents."""

    template_name = "wholesale/public/more.html"
    form_class = MoreInformationForm

    def dispatch(self, request, *args, **kwargs):
        self.application = services.application_for_token(kwargs["token"])
        if self.application is None:
            return render(request, "wholesale/public/link_invalid.html", status=410)
        return super().dispatch(request, *args, **kwargs)

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "instance": WholesaleApplication.objects.get(pk=self.application.pk),
            "existing_documents": len(self.application.documents.all()),
        }

    def get_context_data(self, **kwargs):
        return super().get_context_data(application=self.application, **kwargs)

    def form_valid(self, form):
        try:
            services.provide_info(
                token=self.kwargs["token"],
                data=form.correction_data(),
                files=form.document_files(),
            )
        except ValidationError as error:
            if error.code == "link":
                return render(self.request, "wholesale/public/link_invalid.html", status=410)
            form.add_error(None, error)
            return self.form_invalid(form)
        return render(
            self.request, "wholesale/public/more_done.html", {"application": self.application}
        )


# --- The queue ---------------------------------------------------------------------------------


class QueueView(PermissionRequiredMixin, TemplateView):
    permission_required = "wholesale.view_wholesaleapplication"
    raise_exception = True
    template_name = "wholesale/queue.html"

    def get_context_data(self, **kwargs):
        form = QueueFilterForm(self.request.GET)
        data = form.cleaned_data if form.is_valid() else {}
        tab = data.get("tab") or "pending"
        conditions = selectors.get_conditions()
        reviewer = data.get("reviewer")
        rows = selectors.queue(
            tab=tab,
            query=data.get("q", ""),
            city=data.get("city", ""),
            submitted_from=data.get("submitted_from"),
            submitted_to=data.get("submitted_to"),
            reviewer=self.request.user if reviewer == "me" else None,
            unassigned=reviewer == "none",
            overdue_hours=conditions.sla_hours if data.get("age") == "overdue" else None,
        )
        cursor_error = ""
        try:
            page = keyset_page(
                rows,
                QUEUE_ORDER,
                PER_PAGE,
                after=self.request.GET.get("after", ""),
                before=self.request.GET.get("before", ""),
            )
        except InvalidCursor as error:
            page, cursor_error = keyset_page(rows, QUEUE_ORDER, PER_PAGE), str(error)
        now = timezone.now()
        for application in page.rows:
            application.age_state = selectors.age_state(application, conditions.sla_hours, now)
        query = self.request.GET.copy()
        for name in ("after", "before", "tab"):
            query.pop(name, None)
        counts = selectors.tab_counts()
        labels = dict(Status.choices) | {"all": _("All")}
        return super().get_context_data(
            form=form,
            tab=tab,
            tabs=[(value, labels[value], counts[value]) for value in selectors.TABS],
            bulk=tab in OPEN_STATUSES
            and self.request.user.has_perm("wholesale.review_wholesaleapplication"),
            page=page,
            conditions=conditions,
            cursor_error=cursor_error,
            filter_query=query.urlencode(),
            filtered=any(
                data.get(name)
                for name in ("q", "city", "submitted_from", "submitted_to", "reviewer", "age")
            ),
            bulk_form=BulkDecisionForm(),
            reject_reasons=conditions.reject_reasons,
            **kwargs,
        )


class BulkDecisionView(PermissionRequiredMixin, View):
    permission_required = "wholesale.review_wholesaleapplication"
    raise_exception = True

    def post(self, request):
        form = BulkDecisionForm(request.POST)
        back = safe_next(request, reverse("wholesale:list"))
        if not form.is_valid():
            messages.error(request, " ".join(m for ms in form.errors.values() for m in ms))
            return redirect(back)
        done, problems = services.bulk_decide(
            ids=form.cleaned_data["ids"],
            action=form.cleaned_data["action"],
            reason=form.cleaned_data["reason"].strip(),
            actor=request.user,
        )
        verb = _("approved") if form.cleaned_data["action"] == "approve" else _("rejected")
        messages.success(
            request,
            ngettext("%(count)d application %(verb)s.", "%(count)d applications %(verb)s.", done)
            % {"count": done, "verb": verb},
        )
        for problem in problems[:10]:
            messages.warning(request, problem)
        return redirect(back)


# --- One application ---------------------------------------------------------------------------


class ApplicationDetailView(PermissionRequiredMixin, DetailView):
    permission_required = "wholesale.view_wholesaleapplication"
    raise_exception = True
    model = WholesaleApplication
    template_name = "wholesale/application_detail.html"
    context_object_name = "application"

    def get_queryset(self):
        return WholesaleApplication.objects.select_related(
            "customer", "reviewer", "decided_by", "previous"
        ).prefetch_related(
            "documents",
            Prefetch("events", ApplicationEvent.objects.select_related("actor")),
        )

    def get_context_data(self, **kwargs):
        application = self.object
        conditions = selectors.get_conditions()
        matches = selectors.matching_customers(application)
        default_customer = application.customer_id or (matches[0].customer.pk if matches else "")
        return super().get_context_data(
            conditions=conditions,
            checklist=selectors.checklist(application, conditions),
            matches=matches,
            default_customer=default_customer,
            earlier=selectors.earlier_applications(application),
            age_state=selectors.age_state(application, conditions.sla_hours),
            approve_form=kwargs.pop("approve_form", None) or ApproveForm(),
            reject_form=kwargs.pop("reject_form", None)
            or RejectForm(reasons=conditions.reject_reasons),
            info_form=kwargs.pop("info_form", None) or InfoRequestForm(),
            revoke_form=ReasonForm(),
            email_failed_label=services.EMAIL_KINDS.get(application.email_failed, ""),
            **kwargs,
        )


class DocumentView(PermissionRequiredMixin, View):
    """A document, shown in the browser (images inline, PDFs in the viewer), to permitted staff
    only; the files are not under any public URL."""

    permission_required = "wholesale.view_wholesaleapplication"
    raise_exception = True

    def get(self, request, pk):
        document = get_object_or_404(ApplicationDocument, pk=pk)
        try:
            handle = document.file.open("rb")
        except FileNotFoundError:
            raise Http404 from None
        response = FileResponse(handle, content_type=document.content_type)
        response["Content-Disposition"] = (
            f'inline; filename="document-{document.pk}.{document.stored_name.rsplit(".", 1)[-1]}"'
        )
        response["Cache-Control"] = "private, no-store"
        return response


class DecisionView(PermissionRequiredMixin, View):
    """POST one decision on an application; a refused one re-shows the page with the error."""

    permission_required = "wholesale.review_wholesaleapplication"
    raise_exception = True
    form_class = None
    form_name = ""

    def form_kwargs(self):
        return {}

    def decide(self, application, form):
        raise NotImplementedError

    def post(self, request, pk):
        application = get_object_or_404(WholesaleApplication, pk=pk)
        form = self.form_class(request.POST, **self.form_kwargs())
        if form.is_valid():
            try:
                message = self.decide(application, form)
            except services.AlreadyDecided as error:
                messages.warning(request, " ".join(error.messages))
                return redirect(application)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, message)
                return redirect(application)
        view = ApplicationDetailView()
        view.setup(request, pk=pk)
        view.object = view.get_object()
        messages.error(request, _("The decision was not made; see below."))
        context = view.get_context_data(**{self.form_name: form})
        return render(request, view.template_name, context, status=400)


class ApproveView(DecisionView):
    form_class = ApproveForm
    form_name = "approve_form"

    def decide(self, application, form):
        done = services.approve(
            application=application,
            actor=self.request.user,
            customer_id=form.cleaned_data["customer"],
            reason=form.cleaned_data["reason"].strip(),
        )
        return _("Approved: %(customer)s is now a wholesale customer.") % {
            "customer": done.customer
        }


class RejectView(DecisionView):
    form_class = RejectForm
    form_name = "reject_form"

    def form_kwargs(self):
        return {"reasons": selectors.get_conditions().reject_reasons}

    def decide(self, application, form):
        services.reject(
            application=application, actor=self.request.user, reason=form.cleaned_data["text"]
        )
        return _("Rejected; the applicant is told why by email.")


class InfoRequestView(DecisionView):
    form_class = InfoRequestForm
    form_name = "info_form"

    def decide(self, application, form):
        services.request_info(
            application=application, actor=self.request.user, needed=form.cleaned_data["needed"]
        )
        return _("The applicant was asked for more information.")


class AssignView(PermissionRequiredMixin, View):
    permission_required = "wholesale.review_wholesaleapplication"
    raise_exception = True

    def post(self, request, pk):
        application = get_object_or_404(WholesaleApplication, pk=pk)
        services.assign(application=application, actor=request.user)
        messages.success(
            request, _("%(reference)s is assigned to you.") % {"reference": application.reference}
        )
        return redirect(safe_next(request, application.get_absolute_url()))


class ResendEmailView(PermissionRequiredMixin, View):
    permission_required = "wholesale.review_wholesaleapplication"
    raise_exception = True

    def post(self, request, pk):
        application = get_object_or_404(WholesaleApplication, pk=pk)
        try:
            sent = services.resend_email(application=application, actor=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if sent:
                messages.success(request, _("The email was sent."))
            else:
                messages.error(request, _("The email could not be sent again; see the error."))
        return redirect(application)


class ManualCreateView(PermissionRequiredMixin, FormView):
    """Staff enter a wholesale customer: recorded as an application they approved."""

    permission_required = "wholesale.review_wholesaleapplication"
    raise_exception = True
    template_name = "wholesale/application_form.html"
    form_class = ApplicationForm

    def get_form_kwargs(self):
        return {
            **super().get_form_kwargs(),
            "conditions": selectors.get_conditions(),
            "staff": True,
        }

    def form_valid(self, form):
        try:
            application = services.create_manual(
                data=form.application_data(),
                files=form.document_files(),
                actor=self.request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
            return self.form_invalid(form)
        messages.success(
            self.request,
            _("%(customer)s is a wholesale customer (application %(reference)s).")
            % {"customer": application.customer, "reference": application.reference},
        )
        return redirect(application)

    def form_invalid(self, form):
        messages.error(self.request, _("Please correct the errors below."))
        return super().form_invalid(form)


class RevokeView(PermissionRequiredMixin, View):
    """POST: a wholesale customer goes back to retail, with a reason."""

    permission_required = "wholesale.review_wholesaleapplication"
    raise_exception = True

    def post(self, request, customer_pk):
        customer = get_object_or_404(Customer, pk=customer_pk)
        form = ReasonForm(request.POST)
        back = safe_next(request, customer.get_absolute_url())
        if not form.is_valid():
            messages.error(request, _("Give the reason for revoking wholesale terms."))
            return redirect(back)
        try:
            services.revoke(
                customer=customer, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request, _("%(customer)s is a retail customer again.") % {"customer": customer}
            )
        return redirect(back)


class ConditionsView(PermissionRequiredMixin, FormView):
    permission_required = "wholesale.change_wholesaleconditions"
    raise_exception = True
    template_name = "wholesale/conditions_form.html"
    form_class = ConditionsForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "instance": selectors.get_conditions()}

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            history=ConditionsChange.objects.select_related("actor")[:20], **kwargs
        )

    def form_valid(self, form):
        services.save_conditions(data=form.conditions_data(), actor=self.request.user)
        messages.success(self.request, _("The wholesale conditions were saved."))
        return redirect("wholesale:conditions")

    def form_invalid(self, form):
        messages.error(self.request, _("Please correct the errors below."))
        return super().form_invalid(form)
