from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self):
        from customers import lookups  # noqa: F401  registers the `like` lookup
