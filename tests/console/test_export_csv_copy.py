"""On PostgreSQL, CSV files come from COPY; they must equal the Python writer's byte for byte."""

import csv
import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection

from console.exports import _write_csv_python, available_columns, write_csv
from customers.models import Customer, CustomFieldDefinition
from tests.customers.factories import (
    CustomerFactory,
    CustomerTagFactory,
    RankFactory,
    StoreFactory,
    TagFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's"),
]


def test_copy_csv_equals_the_python_writer(tmp_path):
    CustomFieldDefinition.objects.create(key="newsletter", label="News", field_type="boolean")
    CustomFieldDefinition.objects.create(key="size", label="Size", field_type="number")
    CustomFieldDefinition.objects.create(key="note", label="Note", field_type="text")
    CustomFieldDefinition.objects.create(key="since", label="Since", field_type="date")
    rank, store = RankFactory(name="Vàng"), StoreFactory(name='Store "A", Hà Nội')
    tags = [TagFactory(name="=HYPERLINK(x)"), TagFactory(name="Ánh, sáng"), TagFactory(name="VIP")]
    awkward = CustomerFactory(
        first_name="=cmd|' /C calc'!A0",
        last_name='Nguyễn, "Văn"',
        email="@mail@example.com",
        phone="+84912345678",
        address="12 Phố Huế\nTầng 3",
        city="-Huế",
        gender="female",
        status="blocked",
        rank=rank,
        preferred_store=store,
        old_member_id="\tOLD-1",
        total_spent=Decimal("1234567.50"),
        points_balance=42,
        joined_at=dt.datetime(2025, 12, 31, 18, 30, 15, 999, tzinfo=dt.UTC),
        last_access_at=None,
        date_of_birth=dt.date(1990, 2, 3),
        referral_source="official_account",
        custom_fields={"newsletter": True, "size": 42.5, "note": "+1 note", "since": "2020-05-01"},
    )
    for tag in tags:
        CustomerTagFactory(customer=awkward, tag=tag)
    CustomerFactory(
        first_name="Plain", last_name="", email=None, gender="", custom_fields={"newsletter": False}
    )
    CustomerFactory(first_name="Empty custom", custom_fields={})
    CustomerFactory(
        first_name="Negative",
        last_name="-5",
        city="+HYPERLINK(1)",
        custom_fields={"size": -5, "note": "-1+2"},
    )
    columns = list(available_columns().values())
    assert len(columns) > 25
    queryset = Customer.objects.all()

    python_file, copy_file = tmp_path / "python.csv", tmp_path / "copy.csv"
    assert _write_csv_python(python_file, queryset, columns) == 4
    assert write_csv(copy_file, queryset, columns) == 4
    assert copy_file.read_bytes().decode() == python_file.read_bytes().decode()
    with copy_file.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["First name"]: row for row in csv.DictReader(handle)}
    row = rows["'=cmd|' /C calc'!A0"]  # formula-looking text starts with an apostrophe
    assert row["Email"] == "'@mail@example.com" and row["City"] == "'-Huế"
    assert row["Old member ID"] == "'\tOLD-1"
    assert row["Address"] == "12 Phố Huế\nTầng 3" and row["Last name"] == 'Nguyễn, "Văn"'
    assert row["Tags"].startswith("'=HYPERLINK(x), ") and "Ánh, sáng" in row["Tags"]
    assert row["Gender"] == "Female" and row["Status"] == "Blocked" and row["Rank"] == "Vàng"
    assert row["Joined"] == "2026-01-01 01:30:15"  # local time (Asia/Ho_Chi_Minh), no microseconds
    assert row["News"] == "yes" and row["Size"] == "42.5" and row["Note"] == "'+1 note"
    assert rows["Plain"]["News"] == "no" and rows["Empty custom"]["News"] == ""
    # A phone number and a plain negative number stay as they are; a formula does not.
    assert row["Mobile number"] == "+84912345678"
    negative = rows["Negative"]
    assert (negative["Last name"], negative["Size"]) == ("-5", "-5")
    assert (negative["City"], negative["Note"]) == ("'+HYPERLINK(1)", "'-1+2")
