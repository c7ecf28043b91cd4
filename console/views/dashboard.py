from django.views.generic import TemplateView

from console.dashboard import dashboard_figures
from customers.selectors import recent_activity


class DashboardView(TemplateView):
    """Landing page for every signed-in staff member; figures are cached."""

    template_name = "dashboard.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            figures=dashboard_figures(), activity=recent_activity(), **kwargs
        )
