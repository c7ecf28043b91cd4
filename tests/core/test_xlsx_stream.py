"""The streaming XLSX writer, read back by two independent readers (openpyxl, python-calamine)."""

import datetime
import zipfile
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from console import exports
from console.exports import resolve_columns, write_xlsx
from core.xlsx_stream import XlsxStreamWriter, column_letter
from customers.models import Customer
from tests.customers.factories import CustomerFactory

ROW = [
    "Hà Nội & <Huế>",
    '=HYPERLINK("http://x")',
    "  spaced  ",
    "bell\x07and\x1bescape",
    "",
    None,
    42,
    Decimal("1234.50"),
    2.5,
    datetime.date(2024, 2, 29),
    datetime.datetime(2024, 2, 29, 13, 45, 30),
    True,
]
HEADER = [f"Column {i}" for i in range(len(ROW))]


@pytest.fixture
def workbook_path(tmp_path):
    path = tmp_path / "out.xlsx"
    with XlsxStreamWriter(path, HEADER, "Customers") as writer:
        writer.write_row(ROW)
        writer.write_row(["second"])
    return path


def test_every_cell_type_reads_back_in_openpyxl(workbook_path):
    sheet = openpyxl.load_workbook(workbook_path).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == tuple(HEADER)
    assert rows[1] == (
        "Hà Nội & <Huế>",
        '=HYPERLINK("http://x")',  # stored as text, never as a formula, nothing added
        "  spaced  ",
        "bell_x0007_and_x001B_escape",  # XML cannot hold these: SpreadsheetML's escapes,
        # which Excel and calamine decode (below) and openpyxl leaves as they are
        None,
        None,
        42,
        1234.5,
        2.5,
        datetime.datetime(2024, 2, 29),
        datetime.datetime(2024, 2, 29, 13, 45, 30),
        True,
    )
    assert rows[2][0] == "second" and rows[2][1:] == (None,) * (len(ROW) - 1)
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)
    assert sheet["J2"].number_format == "yyyy-mm-dd"
    assert sheet["K2"].number_format == "yyyy-mm-dd hh:mm"
    assert sheet["A1"].font.b and not sheet["A2"].font.b
    assert sheet.freeze_panes == "A2"
    # Formula-like text keeps the quote prefix when edited; other text has no style.
    assert sheet["B2"].quotePrefix and not sheet["A2"].quotePrefix


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("+84969788698", True),
        ("-5", True),
        ("@user", True),
        ("\tTab", True),
        ("\rCR", True),
        ("Nguyễn", False),
        ("a=b", False),
    ],
)
def test_formula_like_text_is_quoted_and_read_back_unchanged(tmp_path, value, quoted):
    path = tmp_path / "out.xlsx"
    with XlsxStreamWriter(path, ["Value"], "Customers") as writer:
        writer.write_row([value])
    cell = openpyxl.load_workbook(path).active["A2"]
    assert (cell.data_type, bool(cell.quotePrefix)) == ("s", quoted)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[1] == [value]  # openpyxl leaves the CR's _x000D_ undecoded; Excel decodes it


def test_every_cell_type_reads_back_in_calamine(workbook_path):
    rows = CalamineWorkbook.from_path(str(workbook_path)).get_sheet_by_index(0).to_python()
    assert rows[0] == HEADER
    assert rows[1][:3] == ["Hà Nội & <Huế>", '=HYPERLINK("http://x")', "  spaced  "]
    assert rows[1][6:9] == [42, 1234.5, 2.5]
    assert rows[1][9] == datetime.date(2024, 2, 29)
    assert rows[1][10] == datetime.datetime(2024, 2, 29, 13, 45, 30)


def test_the_package_is_well_formed(workbook_path):
    with zipfile.ZipFile(workbook_path) as package:
        assert package.testzip() is None
        names = set(package.namelist())
        assert {
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/_rels/workbook.xml.rels",
            "xl/styles.xml",
            "xl/worksheets/sheet1.xml",
        } <= names
        for name in names:
            ElementTree.fromstring(package.read(name))  # noqa: S314 - our own output; raises if malformed


def test_rows_past_the_sheet_limit_continue_on_new_sheets_with_the_header(tmp_path):
    path = tmp_path / "many.xlsx"
    with XlsxStreamWriter(path, ["n"], "Customers", max_rows=3) as writer:
        writer.write_rows([[i] for i in range(5)])
    assert writer.rows_written == 5
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Customers", "Customers 2", "Customers 3"]
    sheets = [list(sheet.iter_rows(values_only=True)) for sheet in workbook]
    assert sheets == [[("n",), (0,), (1,)], [("n",), (2,), (3,)], [("n",), (4,)]]


def test_a_row_longer_than_the_header_keeps_every_cell(tmp_path):
    path = tmp_path / "ragged.xlsx"
    with XlsxStreamWriter(path, ["a"], "Problems", max_rows=2) as writer:
        writer.write_rows([["x", "beyond", 3], ["y"]])  # the second goes on a new sheet
    first, second = (list(s.iter_rows(values_only=True)) for s in openpyxl.load_workbook(path))
    assert first[1] == ("x", "beyond", 3) and second == [("a",), ("y",)]


def test_an_empty_export_is_a_workbook_with_its_header(tmp_path):
    path = tmp_path / "empty.xlsx"
    XlsxStreamWriter(path, ["Email", "City"], "Customers").close()
    assert list(openpyxl.load_workbook(path).active.iter_rows(values_only=True)) == [
        ("Email", "City")
    ]


def test_sheet_names_stay_within_excels_31_characters(tmp_path):
    path = tmp_path / "long.xlsx"
    with XlsxStreamWriter(path, ["n"], "Khách hàng thân thiết của cửa hàng", max_rows=2) as w:
        w.write_rows([[1], [2]])
    names = openpyxl.load_workbook(path).sheetnames
    assert [len(name) for name in names] == [31, 31] and names[1].endswith(" 2")


def test_a_value_of_an_unknown_type_is_refused(tmp_path):
    with (
        pytest.raises(TypeError, match="Cannot write a list"),
        XlsxStreamWriter(tmp_path / "bad.xlsx", ["x"], "Customers") as writer,
    ):
        writer.write_row([["nested"]])


def test_column_letters():
    assert [column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA",
    ]  # fmt: skip


@pytest.mark.django_db
def test_customer_export_continues_on_further_sheets_and_never_truncates(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)  # two customers per sheet
    CustomerFactory.create_batch(5, status=Customer.Status.BLOCKED)
    path = tmp_path / "customers.xlsx"
    written = write_xlsx(path, Customer.objects.all(), resolve_columns(["member_number", "status"]))
    assert written == 5
    workbook = openpyxl.load_workbook(path)
    assert workbook.sheetnames == ["Customers", "Customers 2", "Customers 3"]
    data = [row for sheet in workbook for row in list(sheet.iter_rows(values_only=True))[1:]]
    numbers = list(Customer.objects.order_by("pk").values_list("member_number", flat=True))
    assert data == [(number, "Blocked") for number in numbers]  # the label, not the code


def test_text_the_readers_would_decode_or_change_reads_back_as_written(tmp_path):
    values = ["_x0041_ stays", "line\r\nbreak\rCR", "tab\there"]
    path = tmp_path / "out.xlsx"
    with XlsxStreamWriter(path, ["A", "B", "C"], "Customers") as writer:
        writer.write_row(values)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
    assert rows[1] == values


def test_numbers_a_spreadsheet_cannot_hold_are_refused(tmp_path):
    for value in (float("nan"), float("inf"), Decimal("NaN"), Decimal("-Infinity")):
        with (
            pytest.raises(ValueError, match="a spreadsheet has no such number"),
            XlsxStreamWriter(tmp_path / "out.xlsx", ["A"], "Customers") as writer,
        ):
            writer.write_row([value])


def test_dates_around_excels_leap_day_and_before_1900(tmp_path):
    days = [
        datetime.date(1900, 1, 1),
        datetime.date(1900, 2, 28),
        datetime.date(1900, 3, 1),
        datetime.datetime(1900, 2, 28, 12, 0),
        datetime.date(1899, 12, 31),
    ]
    path = tmp_path / "out.xlsx"
    with XlsxStreamWriter(path, ["A", "B", "C", "D", "E"], "Customers") as writer:
        writer.write_row(days)
    row = next(openpyxl.load_workbook(path).active.iter_rows(min_row=2, values_only=True))
    assert list(row) == [
        datetime.datetime(1900, 1, 1),
        datetime.datetime(1900, 2, 28),
        datetime.datetime(1900, 3, 1),
        datetime.datetime(1900, 2, 28, 12, 0),
        "1899-12-31",
    ]


def test_text_longer_than_a_cell_holds_is_cut_with_a_marker_and_counted(tmp_path):
    from core.xlsx_stream import CUT_MARKER, MAX_CELL_TEXT

    path = tmp_path / "out.xlsx"
    with XlsxStreamWriter(path, ["A", "B"], "Customers") as writer:
        writer.write_row(["x" * 40_000, "y" * MAX_CELL_TEXT])
    assert writer.cells_cut == 1
    row = next(openpyxl.load_workbook(path).active.iter_rows(min_row=2, values_only=True))
    assert len(row[0]) == MAX_CELL_TEXT and row[0].endswith(CUT_MARKER)
    assert row[1] == "y" * MAX_CELL_TEXT


def test_an_export_job_records_the_cells_it_cut(admin_user):
    from console import jobs
    from customers.models import CustomFieldDefinition, ExportJob

    CustomFieldDefinition.objects.create(key="notes", label="Notes", field_type="text")
    CustomerFactory(custom_fields={"notes": "a" * 40_000})
    job = ExportJob.objects.create(created_by=admin_user, columns=["member_number", "cf_notes"])
    job = jobs.run_export_job(job.pk)
    assert (job.status, job.cells_cut) == ("done", 1)
