"""Files that are refused before parsing, caps, and the two management commands."""

import io
import zipfile

import pytest
from django.core.management import CommandError, call_command

from customers.models import Customer
from migration.files import FileRejected
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


def test_a_sheet_declaring_a_huge_dimension_is_refused(tmp_path):
    content = workbook_with({"xl/worksheets/sheet1.xml": sheet_xml("A1:XFD1048576", 2)})
    assert "declares 1,048,576 rows × 16384 columns" in refused(tmp_path, "big.xlsx", content)


def test_a_sheet_whose_dimension_lies_small_still_meets_the_row_cap(
    tmp_path, import_file, settings
):
    settings.IMPORT_MAX_ROWS = 5
    content = workbook_with({"xl/worksheets/sheet1.xml": sheet_xml("A1:B2", 8)})
    job = import_file([], name="liar.xlsx", content=content)
    assert job.status == ImportJob.Status.FAILED
    assert "more than 5 data rows" in job.error
    assert not Customer.objects.exists()
    ok = workbook_with({"xl/worksheets/sheet1.xml": sheet_xml("A1:B2", 4)})
    assert import_file([], name="liar.xlsx", content=ok).created_count == 4


def test_column_cap(tmp_path, settings):
    settings.IMPORT_MAX_COLUMNS = 3
    wide = [["a", "b", "c", "d"], [1, 2, 3, 4]]
    assert "4 columns; at most 3" in refused(tmp_path, "wide.csv", csv_bytes(wide))


def test_empty_and_header_only_files(tmp_path, import_file):
    assert refused(tmp_path, "empty.csv", b"") == "The file is empty."
    job = import_file([["Old member ID", "Email"]])
    assert job.status == ImportJob.Status.DONE and job.total_rows == 0
    assert "no data rows" in " ".join(job.notes)


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
