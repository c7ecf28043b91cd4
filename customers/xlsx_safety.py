"""Exported text cells can never become formulas (DESIGN.md §7).

Spreadsheet programs treat a cell starting with `=`, `+`, `-` or `@` as a formula, and tab, CR
and NUL can smuggle one in after import. Such text is written with a leading apostrophe; the
XLSX writer also stores every text value as a string cell, never a formula.
"""

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")


def escape_cell(value: str) -> str:
    if value and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
