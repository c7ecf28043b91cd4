from django.apps import AppConfig


class RanksConfig(AppConfig):
    name = "ranks"

    def ready(self):
        from ranks import criteria, signals  # noqa: F401 - signals connects the receivers

        criteria.register()
