from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    """The back-office console: the customer table, the list / detail / edit / export pages
    and the dashboard. It sits above the domain apps because it composes them (no models)."""

    name = "console"
