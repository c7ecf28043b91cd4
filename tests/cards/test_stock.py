"""Card stock: pre-printed numbers from a file (all or nothing), the batch page with its
counts, the print view and the numbers file."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from cards import services
from cards.luhn import check_digit
from cards.models import CardBatch, CardStatus, TouristCard
from loyalty_admin.roles import CUSTOMER_CARE
from tests.cards.test_activation import numbers, traveller
from tests.conftest import make_staff

pytestmark = pytest.mark.django_db

IMPORT = reverse("cards:batch_import")


def luhn(payload: str) -> str:
    return payload + check_digit(payload)


def csv_file(lines, name="stock.csv"):
    return SimpleUploadedFile(name, ("number\n" + "\n".join(lines) + "\n").encode())


def xlsx_file(values):
    book = Workbook()
    sheet = book.active
    sheet.append(["Card number"])
    for value in values:
        sheet.append([value])
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("stock.xlsx", out.getvalue())


def post_file(client, upload, name="Printed"):
    return client.post(
        IMPORT,
        {"stock-name": name, "stock-file": upload, "stock-validity_days": "15", "stock-store": ""},
    )


def test_pre_printed_numbers_from_a_csv_become_stock(admin_client):
    good = [luhn(f"88000000000{n:04d}") for n in range(1, 6)]
    response = post_file(admin_client, csv_file(["  " + good[0] + " ", *good[1:]]))
    batch = CardBatch.objects.get(name="Printed")
    assert response.status_code == 302 and response.url == batch.get_absolute_url()
    assert batch.source == CardBatch.Source.IMPORTED and batch.size == 5
    assert batch.validity_days == 15
    assert sorted(batch.cards.values_list("number", flat=True)) == sorted(good)
    assert set(batch.cards.values_list("status", flat=True)) == {CardStatus.IN_STOCK}


def test_numbers_from_an_excel_file_read_as_numbers_keep_their_digits(admin_client):
    good = [luhn(f"7700000{n:04d}") for n in range(1, 4)]
    post_file(admin_client, xlsx_file([int(number) for number in good]))
    assert sorted(TouristCard.objects.values_list("number", flat=True)) == sorted(good)


def test_a_file_with_bad_rows_adds_nothing_and_names_each_row(admin_client):
    existing = numbers(
        services.generate_batch(
            name="Old", prefix="9730", size=1, validity_days=5, store=None, actor=None
        )
    )[0]
    good = luhn("880000000000001")
    wrong_digit = good[:-1] + str((int(good[-1]) + 1) % 10)
    lines = [good, wrong_digit, "12AB", good, existing, ""]
    body = post_file(admin_client, csv_file(lines)).content.decode()
    assert "4 rows of the file cannot be taken; no card was added." in body
    assert "check digit is wrong" in body
    assert "8 to 19 digits" in body
    assert "The same number is on row 2." in body
    assert "already in stock" in body
    assert 'value="Printed"' in body  # the form keeps what was typed
    assert not CardBatch.objects.filter(name="Printed").exists()
    assert TouristCard.objects.count() == 1


def test_a_file_that_is_not_a_table_is_refused_with_the_reason(admin_client):
    upload = SimpleUploadedFile("stock.xlsx", b"%PDF-1.4 not a workbook")
    body = post_file(admin_client, upload).content.decode()
    assert "stock-file_error" in body
    assert not CardBatch.objects.exists()


def test_the_batch_page_counts_cards_per_status(admin_client):
    batch = services.generate_batch(
        name="Counted", prefix="9731", size=3, validity_days=5, store=None, actor=None
    )
    services.activate(
        number=numbers(batch)[0],
        traveller=traveller(),
        store=None,
        actor=make_staff(CUSTOMER_CARE),
    )
    page = admin_client.get(batch.get_absolute_url()).content.decode()
    counts = page.split('data-testid="status-counts"')[1]
    assert "In stock</div>" in counts and ">2</div>" in counts and ">1</div>" in counts
    assert reverse("cards:batch_print", args=[batch.pk]) in page


def test_the_print_view_lists_the_numbers_in_stock_in_groups_of_four(admin_client):
    batch = services.generate_batch(
        name="Printable", prefix="9732", size=2, validity_days=5, store=None, actor=None
    )
    first = numbers(batch)[0]
    services.void(card=batch.cards.get(number=first), actor=None, reason="Damaged")
    page = admin_client.get(reverse("cards:batch_print", args=[batch.pk])).content.decode()
    second = numbers(batch)[1]
    assert " ".join(second[i : i + 4] for i in range(0, 16, 4)) in page
    assert first[:4] + " " + first[4:8] + " " + first[8:12] + " " + first[12:] not in page
    assert "@media print" not in page and "print.js" in page


def test_the_print_view_goes_sheet_by_sheet(admin_client, monkeypatch):
    monkeypatch.setattr("cards.views.PRINT_SHEET", 2)
    batch = services.generate_batch(
        name="Sheets", prefix="9733", size=3, validity_days=5, store=None, actor=None
    )
    all_numbers = sorted(numbers(batch))
    url = reverse("cards:batch_print", args=[batch.pk])
    first = admin_client.get(url).content.decode()
    assert f"?after={all_numbers[1]}" in first
    second = admin_client.get(url, {"after": all_numbers[1]}).content.decode()
    assert all_numbers[2][-4:] in second and "Next sheet" not in second


def test_the_numbers_file_lists_every_card_with_its_status(admin_client):
    batch = services.generate_batch(
        name="Listed batch", prefix="9734", size=3, validity_days=5, store=None, actor=None
    )
    response = admin_client.get(reverse("cards:batch_numbers", args=[batch.pk]))
    assert 'filename="listed-batch-numbers.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["Card number", "Status"]
    assert sorted(row[0] for row in rows[1:]) == sorted(numbers(batch))
    assert {row[1] for row in rows[1:]} == {"In stock"}
