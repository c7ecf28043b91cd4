from django.apps import AppConfig


class AudiencesConfig(AppConfig):
    name = "audiences"

    def ready(self):
        from audiences import criteria, services

        criteria.register()
        services.register_bulk_actions()
