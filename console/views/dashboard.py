from django.utils import timezone
from django.utils.timesince import timesince
from django.views.generic import TemplateView

from cards.selectors import card_figures
from console.dashboard import dashboard_figures
from customers.selectors import recent_activity
from wholesale.selectors import queue_figures


class DashboardView(TemplateView):
    """Landing page for every signed-in staff member; figures are cached."""

    template_name = "dashboard.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            figures=dashboard_figures(),
            activity=recent_activity(),
            wholesale=self.wholesale_figures(),
            cards=(
                card_figures() if self.request.user.has_perm("cards.view_touristcard") else None
            ),
            **kwargs,
        )

    def wholesale_figures(self) -> dict | None:
        """The pending applications and the oldest one's wait, for those who see the queue."""
        if not self.request.user.has_perm("wholesale.view_wholesaleapplication"):
            return None
        now = timezone.now()
        figures = queue_figures(now)
        age = figures["oldest_age"]
        if age is not None:
            figures["oldest_age_text"] = timesince(now - age, now)
            figures["overdue"] = age.total_seconds() >= figures["sla_hours"] * 3600
        return figures
