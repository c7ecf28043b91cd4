from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared infrastructure (no models): template tags, lookups, job helpers, spreadsheets."""

    name = "core"

    def ready(self):
        from core import lookups  # noqa: F401  registers the `like` and `any_of` lookups
