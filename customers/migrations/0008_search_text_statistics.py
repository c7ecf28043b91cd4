"""PostgreSQL: a larger statistics sample for the search column, so the planner's estimate of
how many customers a quick search matches stays near the truth.

The estimate decides the plan of the list page: for a selective search the trigram index and a
sort of the matches, for a common one a walk down the list's order until a page is full. With
the default sample (30,000 rows) the estimate for "tran thao" at 1,000,000 customers came out
at 2,451 against 1,367 real matches, and the planner walked 40,000 rows (50 ms) where the index
and a sort take 11 ms; with 1000 (300,000 rows sampled) it estimates 1,705 and takes the index.
ANALYZE of the table takes a few seconds longer.
"""

from django.db import migrations

from core.db import postgresql_only


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_alter_customerevent_customer_alter_order_customer_and_more")
    ]

    operations = [
        migrations.RunPython(
            postgresql_only(
                ["ALTER TABLE customers_customer ALTER COLUMN search_text SET STATISTICS 1000"]
            ),
            postgresql_only(
                ["ALTER TABLE customers_customer ALTER COLUMN search_text SET STATISTICS -1"]
            ),
        )
    ]
