"""PostgreSQL-only indexes: trigram on the search column, GIN on custom fields.

SQLite has neither, and its queries stay correct without them (the seam DESIGN.md §2 asks
for). They are not in the model state, so `makemigrations` never tries to recreate them.
"""

from django.db import migrations

from core.db import postgresql_only

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer"
    " USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_custom_fields_gin ON customers_customer"
    " USING gin (custom_fields jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS customer_old_member_id_ci ON customers_customer"
    " (upper(old_member_id))",
    "CREATE INDEX IF NOT EXISTS customer_city_ci ON customers_customer (upper(city))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS customer_city_ci",
    "DROP INDEX IF EXISTS customer_old_member_id_ci",
    "DROP INDEX IF EXISTS customer_custom_fields_gin",
    "DROP INDEX IF EXISTS customer_search_trgm",
]


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]

    operations = [migrations.RunPython(postgresql_only(FORWARD), postgresql_only(BACKWARD))]
