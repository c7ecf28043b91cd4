from django.apps import AppConfig
from django.db.models.signals import pre_delete
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The back-office console: the customer table, the list / detail / edit / export pages,
    scheduled exports and the dashboard. It sits above the domain apps because it composes them."""

    name = "console"

    def ready(self):
        # A schedule whose saved view or audience is deleted is switched off, saying why.
        for sender, reason in (
            ("customers.SavedView", _("Its saved view “%(name)s” was deleted.")),
            ("audiences.Audience", _("Its audience “%(name)s” was deleted.")),
        ):
            pre_delete.connect(
                _disable_schedules(reason), sender=sender, weak=False, dispatch_uid=sender
            )


def _disable_schedules(reason):
    def receiver(sender, instance, **kwargs):
        from console.schedules import on_source_deleted  # models are not ready at import

        on_source_deleted(instance.scheduled_exports.all(), str(reason) % {"name": instance.name})

    return receiver
