"""Create the four staff roles with their permissions (loyalty_admin.roles)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make them now so the groups
    # can hold them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    from loyalty_admin.roles import ROLES, role_permissions

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        ids = list(role_permissions(role).values_list("pk", flat=True))
        group.permissions.set(Permission.objects.filter(pk__in=ids))


def remove_roles(apps, schema_editor):
    from loyalty_admin.roles import ROLES

    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("customers", "0002_postgresql_search_indexes"),
        ("ranks", "0001_initial"),
        ("tags", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
