"""PostgreSQL: leave 10% of each customer page free, so updates that touch no indexed column
(a rank's grace date, updated_at) are HOT updates: the new row version stays on its page and
none of the table's indexes (the trigram index above all) gets new entries. Measured in
`make bench`: placing a million members by the rank policy updates tens of thousands of rows.
Applies to pages written from now on (new rows, and all rows after a VACUUM FULL or reload).
"""

from django.db import migrations

from core.db import postgresql_only


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_customer_rank_grace_until")]

    operations = [
        migrations.RunPython(
            postgresql_only(["ALTER TABLE customers_customer SET (fillfactor = 90)"]),
            postgresql_only(["ALTER TABLE customers_customer RESET (fillfactor)"]),
        )
    ]
