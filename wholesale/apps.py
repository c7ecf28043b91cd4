from django.apps import AppConfig


class WholesaleConfig(AppConfig):
    name = "wholesale"

    def ready(self):
        from wholesale import criteria

        criteria.register()
