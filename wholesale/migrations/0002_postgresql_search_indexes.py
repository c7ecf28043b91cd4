"""PostgreSQL-only indexes for the queue's search and city filter (SQLite stays correct
without them); not in the model state, as with the customers' search index."""

from django.db import migrations

from core.db import postgresql_only

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS wsapp_search_trgm ON wholesale_wholesaleapplication"
    " USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS wsapp_city_ci ON wholesale_wholesaleapplication (upper(city))",
]
BACKWARD = [
    "DROP INDEX IF EXISTS wsapp_city_ci",
    "DROP INDEX IF EXISTS wsapp_search_trgm",
]


class Migration(migrations.Migration):
    dependencies = [("wholesale", "0001_initial")]

    operations = [migrations.RunPython(postgresql_only(FORWARD), postgresql_only(BACKWARD))]
