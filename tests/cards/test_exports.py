"""Cards in customer exports: the latest card's number, status and nationality, and the
passport masked unless the exporting user may see it in full."""

import csv
import io

import openpyxl
import pytest
from django.db import connection
from django.urls import reverse

from cards import services
from console.exports import _write_csv_python, available_columns, write_csv, write_xlsx
from customers.models import Customer, ExportJob
from loyalty_admin.roles import ADMINISTRATOR, MARKETING
from tests.cards.test_activation import numbers, traveller
from tests.customers.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = reverse("customers:export")
CARD_COLUMNS = ["last_name", "card_number", "card_status", "card_nationality", "card_passport"]


@pytest.fixture
def card():
    stock = numbers(
        services.generate_batch(
            name="Export", prefix="9750", size=2, validity_days=5, store=None, actor=None
        )
    )
    first = services.activate(
        number=stock[0],
        traveller=traveller(passport_number="B7654321", nationality="JP"),
        store=None,
        actor=None,
    )
    return services.replace(card=first, new_number=stock[1], actor=None, reason="Lost")


def export(client, columns, file_format="xlsx"):
    return client.post(
        URL,
        {
            "query": "",
            "scope": "all",
            "file_format": file_format,
            "columns": columns,
            "submitted": "1",
        },
    )


def test_an_export_shows_the_latest_card_and_a_masked_passport(staff_client, card):
    CustomerFactory(last_name="Without a card")
    response = export(staff_client(MARKETING), CARD_COLUMNS)
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[card.customer.last_name][1:] == (card.number, "Active", "JP", "••••4321")
    assert rows["Without a card"][1:] == (None, None, None, None)


def test_the_full_passport_is_not_offered_to_marketing_and_refused_if_sent(staff_client, card):
    client = staff_client(MARKETING)
    page = client.post(URL, {"query": "", "scope": "all"}).content.decode()
    assert 'value="card_passport"' in page and 'value="card_passport_full"' not in page
    refused = export(client, ["last_name", "card_passport_full"], "csv")
    assert refused.status_code == 400
    assert "B7654321" not in refused.content.decode()
    assert not ExportJob.objects.exists()


def test_an_administrator_may_export_the_full_passport(staff_client, card):
    response = export(staff_client(ADMINISTRATOR), ["last_name", "card_passport_full"], "csv")
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[1] == f"{card.customer.last_name},B7654321"


def test_the_card_columns_read_back_from_xlsx_as_written(tmp_path, card):
    columns = [available_columns()[key] for key in CARD_COLUMNS]
    path = tmp_path / "cards.xlsx"
    assert write_xlsx(path, Customer.objects.all(), columns) == 1
    row = next(openpyxl.load_workbook(path).active.iter_rows(min_row=2, values_only=True))
    assert row[1:] == (card.number, "Active", "JP", "••••4321")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_copy_writes_the_card_columns_as_the_python_writer(tmp_path, card):
    columns = [available_columns()[key] for key in [*CARD_COLUMNS, "card_passport_full"]]
    python_file, copy_file = tmp_path / "python.csv", tmp_path / "copy.csv"
    _write_csv_python(python_file, Customer.objects.all(), columns)
    write_csv(copy_file, Customer.objects.all(), columns)
    assert copy_file.read_text() == python_file.read_text()
    row = list(csv.reader(io.StringIO(copy_file.read_text(encoding="utf-8-sig"))))[1]
    assert row[-1] == "B7654321"
