"""The database cache's table, so that `migrate` alone sets up what the default cache needs."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("loyalty_admin", "0001_roles")]

    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
