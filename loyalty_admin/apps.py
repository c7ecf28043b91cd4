from django.apps import AppConfig
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate


class LoyaltyAdminConfig(AppConfig):
    name = "loyalty_admin"
    verbose_name = "Loyalty Admin"

    def ready(self):
        from loyalty_admin.middleware import stamp_session_at_login
        from loyalty_admin.roles import sync_roles_after_migrate

        post_migrate.connect(sync_roles_after_migrate, dispatch_uid="loyalty_admin.sync_roles")
        user_logged_in.connect(stamp_session_at_login, dispatch_uid="loyalty_admin.session_stamp")
