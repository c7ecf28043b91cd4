from django.apps import AppConfig


class TagsConfig(AppConfig):
    name = "tags"

    def ready(self):
        from tags import criteria, services

        criteria.register()
        services.register_bulk_actions()
