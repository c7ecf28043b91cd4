"""Reading an uploaded file: what it really is, its encoding and delimiter, its rows.

Every check that can be made before parsing is made before parsing (DESIGN.md §7): the content,
not the extension, decides the format, and a name that claims another format is refused; a
workbook's zip directory is checked for the number of entries, the declared uncompressed size
and the compression ratio; then every part is read whole (its CRC checked), XML parts are
searched for DTDs (entity tricks), and each worksheet's real extent is measured from its cells
against the row, column and grid caps — before python-calamine reads a byte of it, since it
allocates a dense grid up to the last cell. The caps are enforced again on the rows read.

Rows come out as `(row number, cells)`, the row number as a spreadsheet shows it (the header is
row 1). CSV streams; a workbook sheet is held by python-calamine while it is read, which is why
the README recommends CSV for very large files.
"""

import codecs
import csv
import io
import itertools
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

CSV_DELIMITERS = ",;\t|"
SAMPLE_BYTES = 256 * 1024
# Bytes that are letters only in Windows-1258 (Đđ Ơơ Ưư) and its combining tone marks.
CP1258_LETTERS = frozenset(b"\xd0\xf0\xd5\xf5\xdd\xfd")
CP1258_TONES = frozenset(b"\xcc\xec\xd2\xde\xf2")
_DIMENSION = re.compile(rb'<dimension\s+ref="([A-Z]+)(\d+)(?::([A-Z]+)(\d+))?"')


class FileRejected(ValueError):
    """The file cannot be imported; the message says why, for the user."""


@dataclass
class Source:
    path: Path
    file_format: str
    encoding: str = ""
    delimiter: str = ""
    sheet: str = ""
    sheets: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, list]]:
        """Data rows after the header, with their row numbers; blank rows are skipped."""
        reader = self.raw_rows()
        next(reader, None)
        max_rows, max_columns = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS
        for number, cells in enumerate(reader, start=2):
            if number - 1 > max_rows:
                raise FileRejected(
                    _("The file has more than %(count)s data rows, the limit for one import.")
                    % {"count": f"{max_rows:,}"}
                )
            if len(cells) > max_columns:
                raise FileRejected(
                    _("Row %(row)s has more than %(count)s columns.")
                    % {"row": number, "count": max_columns}
                )
            if any(cell not in (None, "") for cell in cells):
                yield number, cells

    def raw_rows(self) -> Iterator[list]:
        """Every row as the file has it, the header included."""
        return self._csv_rows() if self.file_format == "csv" else self._sheet_rows()

    def _csv_rows(self) -> Iterator[list]:
        with self.path.open("rb") as raw:
            stream = io.TextIOWrapper(raw, encoding=self.encoding, newline="", errors="strict")
            compose = self.encoding in ("cp1258", "cp1252")
            try:
                for cells in csv.reader(stream, delimiter=self.delimiter):
                    if compose:
                        cells = [unicodedata.normalize("NFC", cell) for cell in cells]
                    yield cells
            except UnicodeError:
                raise FileRejected(_not_encoded_as(self.encoding)) from None
            except csv.Error as error:
                raise FileRejected(
                    _("The CSV file is malformed: %(error)s") % {"error": error}
                ) from None

    def _sheet_rows(self) -> Iterator[list]:
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(self.path))
        except Exception as error:  # the reader's own error, for a file checked before
            raise FileRejected(
                _("The workbook cannot be read: %(error)s") % {"error": error}
            ) from None
        try:
            try:
                rows = workbook.get_sheet_by_name(self.sheet or workbook.sheet_names[0])
                rows = rows.iter_rows()
            except Exception as error:
                raise FileRejected(
                    _("The sheet cannot be read: %(error)s") % {"error": error}
                ) from None
            yield from rows
        finally:
            workbook.close()


def _not_encoded_as(encoding: str) -> str:
    return _(
        "The file is not valid %(encoding)s throughout; choose its encoding, or leave it on "
        "Detect (for example Windows-1258 for Vietnamese files saved by older software)."
    ) % {"encoding": encoding}


def detect_format(path: Path, name: str) -> str:
    """'csv' or 'xlsx' from the content; the name's extension must agree."""
    with path.open("rb") as handle:
        head = handle.read(8)
    extension = Path(name).suffix.lower()
    if not head:
        raise FileRejected(_("The file is empty."))
    if head.startswith(b"PK\x03\x04"):
        kind = "xlsx"
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected(
            _("Old Excel (.xls) workbooks are not supported; save the file as .xlsx or CSV.")
        )
    elif head.startswith((b"%PDF", b"MZ", b"\x7fELF", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        raise FileRejected(_("This is not a CSV or Excel file."))
    else:
        kind = "csv"
    expected = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx"}.get(extension)
    if expected is None:
        raise FileRejected(_("Upload a .csv or .xlsx file."))
    if expected != kind:
        raise FileRejected(
            _("The file is named “%(name)s” but its content is not %(what)s.")
            % {"name": name, "what": _("an Excel workbook") if expected == "xlsx" else _("text")}
        )
    return kind


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4 and sample[1] == 0 and sample[3] == 0 and sample[0] != 0:
        return "utf-16-le"
    if len(sample) >= 4 and sample[0] == 0 and sample[2] == 0 and sample[1] != 0:
        return "utf-16-be"
    if b"\x00" in sample:
        raise FileRejected(_("This is not a text file."))
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    vietnamese = sum(byte in CP1258_LETTERS for byte in sample)
    vietnamese += sum(
        1
        for before, byte in itertools.pairwise(sample)
        if byte in CP1258_TONES and chr(before).isalpha()
    )
    return "cp1258" if vietnamese >= 2 else "cp1252"


def detect_delimiter(first_line: str) -> str:
    try:
        return csv.Sniffer().sniff(first_line, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:
        counts = {delimiter: first_line.count(delimiter) for delimiter in CSV_DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] else ","


def check_workbook(path: Path) -> None:
    """The zip and XML checks; raises FileRejected before anything parses the workbook.

    Every part is read whole (so zipfile verifies its CRC and sizes), XML parts are searched
    for DTDs throughout, and each worksheet's real extent is found from its cells, since the
    reader allocates a dense grid from the first to the last cell whatever lies between.
    """
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise FileRejected(_("The workbook is damaged (not a valid zip archive).")) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > settings.IMPORT_MAX_ZIP_ENTRIES:
            raise FileRejected(
                _("The workbook has %(count)s parts; at most %(limit)s are accepted.")
                % {"count": len(entries), "limit": settings.IMPORT_MAX_ZIP_ENTRIES}
            )
        declared = sum(entry.file_size for entry in entries)
        if declared > settings.IMPORT_MAX_UNCOMPRESSED_BYTES:
            raise FileRejected(
                _("The workbook would unpack to %(size)s MB; at most %(limit)s MB are accepted.")
                % {
                    "size": declared // 1_000_000,
                    "limit": settings.IMPORT_MAX_UNCOMPRESSED_BYTES // 1_000_000,
                }
            )
        for entry in entries:
            if entry.file_size > 1_000_000 and (
                entry.file_size / max(entry.compress_size, 1) > settings.IMPORT_MAX_ZIP_RATIO
            ):
                raise FileRejected(
                    _("The workbook part %(name)s is compressed suspiciously well; refused.")
                    % {"name": entry.filename}
                )
        if "xl/workbook.xml" not in {entry.filename for entry in entries}:
            raise FileRejected(_("This zip file is not an Excel workbook."))
        for entry in entries:
            try:
                _check_part(archive, entry)
            except FileRejected:
                raise
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError):
                raise FileRejected(
                    _("The workbook is damaged: its part %(name)s cannot be read whole.")
                    % {"name": entry.filename}
                ) from None


def _check_part(archive: zipfile.ZipFile, entry: zipfile.ZipInfo) -> None:
    """Read one part to its end; DTDs refused in XML, a worksheet's extent measured."""
    if not entry.filename.endswith((".xml", ".rels")):
        _read_whole(archive, entry, lambda text: text[-16:])
        return
    if not entry.filename.startswith("xl/worksheets/"):
        _read_whole(archive, entry, _no_dtd)
        return
    extent = SheetExtent()
    try:
        _read_whole(archive, entry, extent.take_written_by_a_spreadsheet_program)
    except _Unusual:
        extent = SheetExtent()
        _read_whole(archive, entry, extent.take)
    extent.check()


class _Unusual(Exception):
    """A worksheet not in the shape spreadsheet programs write; measured tag by tag instead."""


def _no_dtd(text: bytes) -> bytes:
    if b"<!DOCTYPE" in text or b"<!ENTITY" in text:
        raise FileRejected(_("The workbook contains XML declarations that are not allowed (DTD)."))
    return text[-16:]  # a declaration cut in two is found with the next chunk


def _read_whole(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, take) -> None:
    """Stream a part through `take(text) -> carry`: what it returns goes round again."""
    read, carry = 0, b""
    with archive.open(entry) as part:
        while chunk := part.read(CHUNK_BYTES):
            read += len(chunk)
            if read > entry.file_size:
                raise zipfile.BadZipFile("longer than declared")
            carry = take(carry + chunk)
            if len(carry) > MAX_TAG_BYTES:
                raise zipfile.BadZipFile("a tag or text longer than any cell holds")
    if read != entry.file_size:
        raise zipfile.BadZipFile("shorter than declared")


# A start tag of a row or a cell, with its attributes (quoted values may hold ">").
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])((?:[^>\"']|\"[^\"]*\"|'[^']*')*)/?>")
_REF = re.compile(rb"""(?:^|\s)r\s*=\s*["']\s*([A-Za-z]*)(\d*)\s*["']""")
# The shape every spreadsheet program writes: `<row r="7"` and `<c r="B7"`, r first.
_PLAIN_ROW = re.compile(rb'<row r="([0-9]{1,7})"')
_PLAIN_CELL = re.compile(rb'<c r="([A-Z]{1,3}[0-9]{1,7})"')
_DIGITS, _LETTERS = b"0123456789", bytes(range(ord("A"), ord("Z") + 1))
CHUNK_BYTES = 1 << 20
MAX_TAG_BYTES = 1 << 20


class SheetExtent:
    """The last row and column a worksheet's cells reach, placed as a reader places them:
    by their `r` reference, or one after the previous row / cell when they have none."""

    def __init__(self):
        self.row = 0
        self.column = 0
        self.max_row = 0
        self.max_column = 0
        self._columns: dict[bytes, int] = {}

    def take_written_by_a_spreadsheet_program(self, text: bytes) -> bytes:
        """Measure by whole-chunk searches; raises _Unusual unless every row and cell tag has
        its reference first (what is left after the last "<" goes round again)."""
        _no_dtd(text)
        cut = text.rfind(b"<")
        body, rest = (text[:cut], text[cut:]) if cut >= 0 else (text, b"")
        rows, cells = _PLAIN_ROW.findall(body), _PLAIN_CELL.findall(body)
        if (
            body.count(b"<c") != len(cells) + body.count(b"<co") + body.count(b"<cf")
            or body.count(b"<row") != len(rows) + body.count(b"<rowBreaks")
            or b":c" in body
            or b":row" in body
        ):
            raise _Unusual
        if rows:
            self.max_row = max(self.max_row, max(map(int, rows)))
        if cells:
            joined = b" ".join(cells)
            numbers = joined.translate(None, _LETTERS).split()
            self.max_row = max(self.max_row, max(map(int, numbers)))
            for letters in set(joined.translate(None, _DIGITS).split()):
                self.max_column = max(self.max_column, self._column(letters))
        return rest

    def take(self, text: bytes) -> bytes:
        """Measure tag by tag; what is left after the last complete tag goes round again."""
        _no_dtd(text)
        end = 0
        for match in _TAG.finditer(text):
            end = match.end()
            ref = _REF.search(match.group(2))
            letters, digits = (ref.group(1), ref.group(2)) if ref else (b"", b"")
            if match.group(1) == b"row":
                self.row = int(digits) if digits else self.row + 1
                self.column = 0
            else:
                if digits:
                    self.row = int(digits)
                self.column = self._column(letters.upper()) if letters else self.column + 1
                self.max_column = max(self.max_column, self.column)
            self.max_row = max(self.max_row, self.row)
        rest = text[end:]
        return rest[rest.rfind(b"<") :] if b"<" in rest else rest[-16:]

    def _column(self, letters: bytes) -> int:
        number = self._columns.get(letters)
        if number is None:
            number = 0
            for letter in letters:
                number = number * 26 + letter - 64
            self._columns[letters] = number
        return number

    def check(self) -> None:
        rows, columns = self.max_row, self.max_column
        if (
            rows - 1 > settings.IMPORT_MAX_ROWS
            or columns > settings.IMPORT_MAX_COLUMNS
            or rows * columns > settings.IMPORT_MAX_SHEET_CELLS
        ):
            raise FileRejected(
                _(
                    "The sheet reaches row %(rows)s and column %(columns)s, beyond what one "
                    "import reads (%(max_rows)s rows, %(max_columns)s columns, %(max_cells)s "
                    "cells from A1 to the last cell); remove what lies outside the data or "
                    "save the sheet as CSV."
                )
                % {
                    "rows": f"{rows:,}",
                    "columns": f"{columns:,}",
                    "max_rows": f"{settings.IMPORT_MAX_ROWS + 1:,}",
                    "max_columns": settings.IMPORT_MAX_COLUMNS,
                    "max_cells": f"{settings.IMPORT_MAX_SHEET_CELLS:,}",
                }
            )


def open_source(
    path: Path,
    name: str,
    *,
    encoding: str = "",
    delimiter: str = "",
    sheet: str = "",
    checked: bool = False,
) -> Source:
    """Sniff, check and read the header; raises FileRejected with the reason.

    `checked` says the file passed check_workbook when it was stored and has not changed since.
    """
    file_format = detect_format(path, name)
    source = Source(path=path, file_format=file_format, sheet=sheet)
    if file_format == "xlsx":
        if not checked:
            check_workbook(path)
        from python_calamine import CalamineWorkbook

        try:
            workbook = CalamineWorkbook.from_path(str(path))
        except Exception as error:  # the reader's own error, for a file checked before
            raise FileRejected(
                _("The workbook cannot be read: %(error)s") % {"error": error}
            ) from None
        source.sheets = list(workbook.sheet_names)
        workbook.close()
        if sheet and sheet not in source.sheets:
            raise FileRejected(
                _("The workbook has no sheet “%(sheet)s”; it has %(sheets)s.")
                % {"sheet": sheet, "sheets": ", ".join(source.sheets)}
            )
        source.sheet = sheet or source.sheets[0]
    else:
        with path.open("rb") as handle:
            sample = handle.read(SAMPLE_BYTES)
        source.encoding = encoding or detect_encoding(sample)
        try:
            codecs.lookup(source.encoding)
        except LookupError:
            raise FileRejected(
                _("Unknown encoding “%(encoding)s”.") % {"encoding": encoding}
            ) from None
        decoder = codecs.getincrementaldecoder(source.encoding)(errors="replace")
        try:
            first_line = decoder.decode(sample, final=False).lstrip("\ufeff").splitlines()
        except UnicodeError:  # e.g. UTF-16 chosen for a file without its byte-order mark
            raise FileRejected(_not_encoded_as(source.encoding)) from None
        source.delimiter = delimiter or detect_delimiter(first_line[0] if first_line else "")
    try:
        rows = source.raw_rows()
        header = next(rows, None)
        has_data = any(any(cell not in (None, "") for cell in cells) for cells in rows)
    except FileRejected:
        raise
    except Exception as error:  # a parser's own error (a wrong encoding's too), reported
        raise FileRejected(_("The file cannot be read: %(error)s") % {"error": error}) from None
    if header is None:
        raise FileRejected(_("The file is empty."))
    if not any(cell not in (None, "") for cell in header):
        raise FileRejected(_("The first row must hold the column names; it is empty."))
    if len(header) > settings.IMPORT_MAX_COLUMNS:
        raise FileRejected(
            _("The file has %(count)s columns; at most %(limit)s are accepted.")
            % {"count": len(header), "limit": settings.IMPORT_MAX_COLUMNS}
        )
    if not has_data:
        raise FileRejected(_("The file has only its header row: there is nothing to import."))
    source.headers = [str(cell if cell is not None else "").strip() for cell in header]
    return source


def estimate_rows(source: Source) -> int | None:
    """About how many data rows the file has, for the progress bar (not a cap: quoted line
    breaks in CSV and a wrong `<dimension>` make it approximate)."""
    if source.file_format == "csv":
        newline = "\n".encode(source.encoding.removesuffix("-sig"))
        if source.encoding == "utf-16":
            newline = newline.removeprefix(codecs.BOM_UTF16)
        lines, last = 0, b""
        with source.path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                lines += chunk.count(newline)
                last = chunk
        if last and not last.endswith(newline):
            lines += 1
        return max(lines - 1, 0)
    with zipfile.ZipFile(source.path) as archive:
        for entry in archive.infolist():
            if entry.filename.startswith("xl/worksheets/sheet"):
                with archive.open(entry) as part:
                    match = _DIMENSION.search(part.read(4096))
                if match and match.group(3):
                    return max(int(match.group(4)) - int(match.group(2)), 0)
    return None
