"""What the PostgreSQL migrations set on the customer table beyond the model's own schema."""

import pytest
from django.db import connection

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL storage settings"),
]


def _one(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_search_column_has_a_large_statistics_sample():
    """The quick search's row estimate picks the list page's plan (customers 0008)."""
    assert (
        _one(
            "SELECT attstattarget FROM pg_attribute WHERE attrelid = "
            "'customers_customer'::regclass AND attname = 'search_text'"
        )
        == 1000
    )


def test_customer_pages_leave_room_for_hot_updates():
    assert "fillfactor=90" in _one(
        "SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = "
        "'customers_customer'::regclass"
    )


def test_search_column_has_its_trigram_index():
    assert "gin_trgm_ops" in _one(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'customer_search_trgm'"
    )


def test_identifiers_have_one_unique_index_each_and_no_pattern_index():
    """Unique through Meta.constraints: no varchar_pattern_ops twin that no query uses."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'customers_customer'")
        definitions = [row[0] for row in cursor.fetchall()]
    assert not [d for d in definitions if "pattern_ops" in d]
    for column in ("member_number", "old_member_id", "email", "phone"):
        assert [d for d in definitions if "UNIQUE" in d and f"({column})" in d], column
