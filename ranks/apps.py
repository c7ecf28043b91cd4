from django.apps import AppConfig


class RanksConfig(AppConfig):
    name = "ranks"

    def ready(self):
        from ranks import criteria, services, signals  # noqa: F401 - signals connects receivers

        criteria.register()
        services.register_bulk_actions()
