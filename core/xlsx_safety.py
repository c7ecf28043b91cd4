"""Exported text cells can never become formulas (DESIGN.md §7).

Spreadsheet programs read a cell starting with `=`, `+`, `-` or `@` as a formula, and tab, CR
and NUL can smuggle one in. The two file kinds are kept safe differently, so that nothing
visible is added to ordinary values such as phone numbers (`+84969788698`) or `-5`:

- XLSX: every text cell is an inline string (never a formula); one that starts with a trigger
  also carries the `quotePrefix` cell style, so it stays text when someone edits it.
- CSV: the reader decides, so a value gets a leading apostrophe when it starts with `=`, `@`,
  tab, CR or NUL, or with `+` / `-` followed by anything but a plain number.
"""

import re

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\0")
# The CSV rule as one pattern; also run by PostgreSQL for the COPY export (no NUL there).
CSV_RISK = r"^([=@\t\r]|[+-](?![0-9]+(\.[0-9]+)?$))"
_CSV_RISK = re.compile(CSV_RISK.replace(r"[=@\t\r]", "[=@\t\r\0]"))


def is_formula_like(value: str) -> bool:
    """Would a spreadsheet read this text as a formula when it is typed or edited?"""
    return value.startswith(FORMULA_TRIGGERS)


def escape_csv(value: str) -> str:
    """The text as a CSV cell: an apostrophe before it only when it could run as a formula."""
    if value and _CSV_RISK.match(value):
        return "'" + value
    return value
