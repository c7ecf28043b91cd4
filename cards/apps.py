from django.apps import AppConfig


class CardsConfig(AppConfig):
    name = "cards"
    verbose_name = "Tourist cards"

    def ready(self):
        from cards import criteria

        criteria.register()
