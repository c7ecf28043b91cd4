from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LoyaltyAdminConfig(AppConfig):
    name = "loyalty_admin"
    verbose_name = "Loyalty Admin"

    def ready(self):
        from loyalty_admin.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="loyalty_admin.sync_roles")
