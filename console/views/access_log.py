"""Administrators' page of the personal-data access log: who saw or took whose data."""

from django import forms
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.utils.translation import gettext_lazy as _
from django.views.generic import TemplateView

from core.dates import day_end, day_start
from core.forms import BootstrapFormMixin
from core.pagination import InvalidCursor, keyset_page
from customers.models import PersonalDataAccess

PER_PAGE = 50


class AccessFilterForm(BootstrapFormMixin, forms.Form):
    staff = forms.CharField(label=_("Staff username"), required=False, max_length=150)
    member = forms.CharField(label=_("Member number"), required=False, max_length=32)
    kind = forms.ChoiceField(
        label=_("What"),
        required=False,
        choices=[("", _("Anything")), *PersonalDataAccess.Kind.choices],
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class AccessLogView(PermissionRequiredMixin, TemplateView):
    permission_required = "customers.view_personaldataaccess"
    raise_exception = True
    template_name = "customers/access_log.html"

    def get_context_data(self, **kwargs):
        form = AccessFilterForm(self.request.GET)
        data = form.cleaned_data if form.is_valid() else {}
        rows = PersonalDataAccess.objects.select_related("user", "customer")
        if data.get("staff"):
            rows = rows.filter(user__username__iexact=data["staff"].strip())
        if data.get("member"):
            rows = rows.filter(customer__member_number=data["member"].strip().upper())
        if data.get("kind"):
            rows = rows.filter(kind=data["kind"])
        if data.get("date_from"):
            rows = rows.filter(at__gte=day_start(data["date_from"]))
        if data.get("date_to"):
            rows = rows.filter(at__lt=day_end(data["date_to"]))
        get = self.request.GET
        try:
            page = keyset_page(
                rows,
                ["-at", "-id"],
                PER_PAGE,
                after=get.get("after", ""),
                before=get.get("before", ""),
            )
        except InvalidCursor:
            page = keyset_page(rows, ["-at", "-id"], PER_PAGE)
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
