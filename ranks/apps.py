from django.apps import AppConfig


class RanksConfig(AppConfig):
    name = "ranks"

    def ready(self):
        from ranks import signals  # noqa: F401 - connects the receivers
