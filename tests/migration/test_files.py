"""Files that are refused before parsing, caps, and the two management commands."""

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from core.files import FileRejected
from customers.models import Customer
from migration import jobs
from migration.models import ImportJob, MappingProfile
from tests.customers.factories import CustomerFactory
from tests.migration.conftest import csv_bytes, upload, xlsx_bytes

pytestmark = pytest.mark.django_db
ROWS = [["Old member ID", "Email"], ["L1", "a@example.com"], ["L2", "b@example.com"]]


def refused(tmp_path, name: str, content: bytes, **options) -> str:
    with pytest.raises(FileRejected) as caught:
        upload(tmp_path, name, content, **options)
    assert not ImportJob.objects.exists()
    return str(caught.value)


def test_a_text_file_named_xlsx_is_refused(tmp_path):
    assert "is not an Excel workbook" in refused(tmp_path, "data.xlsx", csv_bytes(ROWS))


def test_a_workbook_named_csv_is_refused(tmp_path):
    assert "its content is not text" in refused(tmp_path, "data.csv", xlsx_bytes(ROWS))


def test_other_binary_files_and_old_xls_are_refused(tmp_path):
    assert "not a CSV or Excel file" in refused(tmp_path, "x.csv", b"%PDF-1.7 ...")
    assert ".xls) workbooks are not supported" in refused(
        tmp_path, "x.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100
    )
    assert "Upload a .csv or .xlsx file" in refused(tmp_path, "x.exe", b"a,b\n1,2\n")


def workbook_with(extra: dict[str, bytes], base: bytes | None = None) -> bytes:
    """A real workbook with parts added or replaced."""
    source = zipfile.ZipFile(io.BytesIO(base or xlsx_bytes(ROWS)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename not in extra:
                target.writestr(item, source.read(item.filename))
        for name, data in extra.items():
            target.writestr(name, data)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_parsing(tmp_path, settings):
    bomb = workbook_with({"xl/media/padding.bin": b"\0" * 50_000_000})
    assert len(bomb) < 200_000
    assert "compressed suspiciously well" in refused(tmp_path, "bomb.xlsx", bomb)
    settings.IMPORT_MAX_UNCOMPRESSED_BYTES = 10_000_000
    assert "would unpack to 50 MB" in refused(tmp_path, "bomb.xlsx", bomb)


def test_too_many_zip_entries_are_refused(tmp_path, settings):
    settings.IMPORT_MAX_ZIP_ENTRIES = 20
    parts = {f"xl/media/{n}.bin": b"x" for n in range(30)}
    assert "at most 20 are accepted" in refused(tmp_path, "many.xlsx", workbook_with(parts))


def test_xml_entity_tricks_are_refused(tmp_path):
    evil = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 '
        b'"&lol;&lol;&lol;">]><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
        b'main"><si><t>&lol2;</t></si></sst>'
    )
    message = refused(tmp_path, "evil.xlsx", workbook_with({"xl/sharedStrings.xml": evil}))
    assert "XML declarations that are not allowed" in message


def sheet_xml(dimension: str, rows: int) -> bytes:
    cells = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>L{n}</t></is></c>'
        f'<c r="B{n}" t="inlineStr"><is><t>c{n}@example.com</t></is></c></row>'
        for n in range(2, rows + 2)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org'
        f'/spreadsheetml/2006/main"><dimension ref="{dimension}"/><sheetData>'
        '<row r="1"><c r="A1" t="inlineStr"><is><t>Old member ID</t></is></c>'
        '<c r="B1" t="inlineStr"><is><t>Email</t></is></c></row>'
        f"{cells}</sheetData></worksheet>"
    ).encode()


def bare_sheet(cells: str) -> bytes:
    """A worksheet part whose sheetData is `cells`, with no <dimension> to trust."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org'
        f'/spreadsheetml/2006/main"><sheetData>{cells}</sheetData></worksheet>'
    ).encode()


def stored_files(settings) -> list:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


FAR_CELL = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Email</t></is></c></row>'
    '<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
)


def test_a_tiny_workbook_reaching_a_far_cell_is_refused_before_reading(tmp_path, settings):
    content = workbook_with({"xl/worksheets/sheet1.xml": bare_sheet(FAR_CELL)})
    assert len(content) < 6_000
    message = refused(tmp_path, "far.xlsx", content)
    assert "reaches row 1,048,576 and column 16,384" in message
    assert stored_files(settings) == []


@pytest.mark.parametrize(
    "cells",
    [
        # no references: each row and cell follows the one before
        '<row><c t="inlineStr"><is><t>Email</t></is></c></row>'
        + "<row/>" * 9
        + "<row><c/><c/><c/><c/><c/><c><v>1</v></c></row>",
        # references not first, on a prefixed element, and a ">" inside a quoted value
        '<row r="1"><c s="0" r="A1"><v>1</v></c></row><row r="2"><c r="A2"><v>2</v></c></row>'
        '<row r="11"><x:c r="F11"/></row>',
        '<row r="1"><c r="A1"><v>1</v></c></row><row r="11"><c s=">" r="F11"><v>1</v></c></row>',
    ],
)
def test_the_extent_is_found_however_the_cells_are_placed(tmp_path, settings, cells):
    settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS = 9, 5
    content = workbook_with({"xl/worksheets/sheet1.xml": bare_sheet(cells)})
    assert "reaches row 11 and column 6" in refused(tmp_path, "odd.xlsx", content)
    settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS = 10, 6
    upload(tmp_path, "odd.xlsx", content)  # within the caps: accepted


def test_a_sparse_grid_beyond_the_cell_cap_is_refused(tmp_path, settings):
    settings.IMPORT_MAX_SHEET_CELLS = 1_000
    corner = '<row r="1"><c r="A1"><v>1</v></c></row><row r="101"><c r="J101"><v>1</v></c></row>'
    content = workbook_with({"xl/worksheets/sheet1.xml": bare_sheet(corner)})
    assert "1,000 cells from A1" in refused(tmp_path, "sparse.xlsx", content)
    settings.IMPORT_MAX_SHEET_CELLS = 1_010
    upload(tmp_path, "sparse.xlsx", content)


def test_the_far_cell_is_refused_by_the_wizard_and_the_command(admin_client, tmp_path, settings):
    content = workbook_with({"xl/worksheets/sheet1.xml": bare_sheet(FAR_CELL)})
    response = admin_client.post(
        reverse("migration:upload"), {"file": SimpleUploadedFile("far.xlsx", content)}
    )
    assert response.status_code == 400
    assert "reaches row 1,048,576" in response.content.decode()
    path = tmp_path / "far.xlsx"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="reaches row 1,048,576"):
        call_command("import_customers", str(path))
    assert not ImportJob.objects.exists()
    assert stored_files(settings) == []


def patch_central_directory(content: bytes, name: str, offset: int, value: int) -> bytes:
    """The workbook with one 4-byte field of `name`'s central directory entry replaced
    (16: CRC-32, 24: uncompressed size)."""
    entry = content.index(b"PK\x01\x02")
    while True:
        name_length = int.from_bytes(content[entry + 28 : entry + 30], "little")
        if content[entry + 46 : entry + 46 + name_length] == name.encode():
            break
        entry = content.index(b"PK\x01\x02", entry + 4)
    field = entry + offset
    return content[:field] + value.to_bytes(4, "little") + content[field + 4 :]


@pytest.mark.parametrize(("offset", "value"), [(16, 0x12345678), (24, 50), (24, 50_000)])
def test_a_corrupt_part_is_refused_and_the_upload_removed(
    admin_client, tmp_path, settings, offset, value
):
    content = patch_central_directory(xlsx_bytes(ROWS), "xl/worksheets/sheet1.xml", offset, value)
    response = admin_client.post(
        reverse("migration:upload"), {"file": SimpleUploadedFile("bad.xlsx", content)}
    )
    assert response.status_code == 400
    assert "The workbook is damaged" in response.content.decode()
    assert stored_files(settings) == []
    path = tmp_path / "bad.xlsx"
    path.write_bytes(content)
    with pytest.raises(CommandError, match="The workbook is damaged"):
        call_command("import_customers", str(path))
    assert stored_files(settings) == []
    assert not ImportJob.objects.exists()


def test_a_dtd_after_a_long_comment_is_refused(tmp_path):
    evil = (
        b'<?xml version="1.0"?><!--' + b"x" * 10_000 + b'--><!DOCTYPE s [<!ENTITY a "a">]>'
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&a;</t>'
        b"</si></sst>"
    )
    message = refused(tmp_path, "evil.xlsx", workbook_with({"xl/sharedStrings.xml": evil}))
    assert "XML declarations that are not allowed" in message


def test_a_stored_file_is_not_checked_again(tmp_path, monkeypatch):
    job = upload(tmp_path, "members.xlsx", xlsx_bytes(ROWS))
    monkeypatch.setattr("core.files.check_workbook", pytest.fail)
    assert jobs.source_of(job).headers == ["Old member ID", "Email"]


def test_a_sheet_whose_dimension_lies_small_is_measured_by_its_cells(
    tmp_path, import_file, settings
):
    settings.IMPORT_MAX_ROWS = 5
    content = workbook_with({"xl/worksheets/sheet1.xml": sheet_xml("A1:B2", 8)})
    assert "reaches row 9 and column 2" in refused(tmp_path, "liar.xlsx", content)
    ok = workbook_with({"xl/worksheets/sheet1.xml": sheet_xml("A1:B2", 4)})
    assert import_file([], name="liar.xlsx", content=ok).created_count == 4


def test_the_row_cap_holds_on_the_rows_read(import_file, settings):
    settings.IMPORT_MAX_ROWS = 5
    job = import_file([ROWS[0], *[[f"L{n}", f"c{n}@example.com"] for n in range(8)]])
    assert job.status == ImportJob.Status.FAILED
    assert "more than 5 data rows" in job.error
    assert not Customer.objects.exists()


def test_column_cap(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 3
    wide = [["a", "b", "c", "d"], [1, 2, 3, 4]]
    assert "4 columns; at most 3" in refused(tmp_path, "wide.csv", csv_bytes(wide))


def test_empty_and_header_only_files(tmp_path):
    assert refused(tmp_path, "empty.csv", b"") == "The file is empty."
    header_only = "The file has only its header row: there is nothing to import."
    assert refused(tmp_path, "h.csv", csv_bytes([ROWS[0], [], ["", ""]])) == header_only
    assert refused(tmp_path, "h.xlsx", xlsx_bytes([ROWS[0]])) == header_only


def test_unknown_columns_are_ignored_and_reported(import_file):
    job = import_file(
        [["Old member ID", "Email", "Favourite colour"], ["L1", "a@example.com", "red"]]
    )
    assert job.created_count == 1
    assert job.notes == ["Column “Favourite colour” is not mapped; it was ignored."]


def test_a_mapping_with_two_columns_on_one_field_is_refused(tmp_path):
    from django.core.exceptions import ValidationError

    from migration.jobs import check_mapping

    with pytest.raises(ValidationError) as caught:
        check_mapping(
            {"0": "old_member_id", "1": "email", "2": "email"},
            ["Old", "Mail", "Mail 2"],
            "old_member_id",
        )
    assert caught.value.messages == ["Columns “Mail” and “Mail 2” are both mapped to Email."]
    with pytest.raises(ValidationError, match="match key"):
        check_mapping({"1": "email"}, ["Old", "Mail"], "old_member_id")


# --- commands ---------------------------------------------------------------------------------


def test_import_command_runs_reports_and_records_a_job(tmp_path, capsys):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes(ROWS))
    call_command("import_customers", str(path))
    out = capsys.readouterr()
    assert "2 created, 0 updated, 0 unchanged, 0 with problems" in out.out
    assert "2 rows (100%)" in out.err
    job = ImportJob.objects.get()
    assert (job.via, job.status, job.created_count) == ("command", "done", 2)
    call_command("undo_import", str(job.pk))
    assert "2 customers deleted" in capsys.readouterr().out
    assert not Customer.objects.exists()


def test_import_command_exits_non_zero_with_the_error_file(tmp_path, capsys):
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([*ROWS, ["L3", "nope"]]))
    with pytest.raises(CommandError, match="nothing was written"):
        call_command("import_customers", str(path))
    assert "Problems: " in capsys.readouterr().out
    assert not Customer.objects.exists()


def test_import_command_dry_run_mapping_profile_and_options(tmp_path, capsys):
    CustomerFactory(email="a@example.com", city="Huế")
    MappingProfile.objects.create(
        name="legacy", mapping={"Mail": "email", "Town": "city"}, match_key="email"
    )
    path = tmp_path / "members.csv"
    path.write_bytes(csv_bytes([["Mail", "Town"], ["a@example.com", "Vinh"]], delimiter=";"))
    call_command("import_customers", str(path), "--mapping", "legacy", "--dry-run")
    assert "0 created, 1 updated" in capsys.readouterr().out
    assert Customer.objects.get().city == "Huế"
    call_command(
        "import_customers",
        str(path),
        "--mapping",
        '{"Mail": "email", "Town": "city"}',
        "--match-key",
        "email",
    )
    assert Customer.objects.get().city == "Vinh"
    with pytest.raises(CommandError, match="neither a saved profile nor JSON"):
        call_command("import_customers", str(path), "--mapping", "nope")
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_customers", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="There is no import #999"):
        call_command("undo_import", "999")
