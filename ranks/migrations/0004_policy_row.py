from django.db import migrations


def create_policy(apps, schema_editor):
    apps.get_model("ranks", "RankPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    """The single policy row, with the defaults (spend in the last 12 months, 90 days' grace)."""

    dependencies = [("ranks", "0003_rank_simulation")]

    operations = [migrations.RunPython(create_policy, migrations.RunPython.noop)]
