"""Set-based writes of many rows: stage them in a temporary table, then one statement.

PostgreSQL stages through COPY (the fastest way in), SQLite through executemany; the statement
that follows — INSERT … SELECT … RETURNING, or UPDATE … FROM — is the same SQL on both.
Call inside a transaction; the staging table is dropped after each use.
"""

import datetime
import io
import json
from contextlib import contextmanager
from decimal import Decimal

from django.db import connection

STAGE = "import_stage"


def _escape(text: str) -> str:
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        return (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


def _copy_text(value) -> str:
    """One value in COPY's text format (dispatch on the exact type: this runs per cell)."""
    kind = type(value)
    if kind is str:
        return _escape(value)
    if value is None:
        return "\\N"
    if kind is int or kind is Decimal:
        return str(value)
    if kind is bool:
        return "t" if value else "f"
    if kind is dict or kind is list:
        return _escape(json.dumps(value, ensure_ascii=False))
    if kind is datetime.datetime or kind is datetime.date:
        return value.isoformat()
    return _escape(str(value))


class Rendered:
    """Rows already in COPY's text format (rendered by one thread, written by another)."""

    def __init__(self, rows: list[tuple]):
        self.count = len(rows)
        self.text = copy_lines(rows).getvalue()

    def __len__(self):
        return self.count


def prerender(rows: list[tuple]):
    """On PostgreSQL, the rows as COPY text now; elsewhere unchanged."""
    return Rendered(rows) if rows and connection.vendor == "postgresql" else rows


def copy_lines(rows) -> io.StringIO:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join(map(_copy_text, row)))
        buffer.write("\n")
    buffer.seek(0)
    return buffer


def _prepared(model, columns: list[str], rows: list[tuple]) -> list[tuple]:
    fields = [model._meta.get_field(column) for column in columns]
    return [
        tuple(
            None if value is None else field.get_db_prep_save(value, connection)
            for field, value in zip(fields, row, strict=True)
        )
        for row in rows
    ]


def _raw(cursor):
    """The DB-API cursor under Django's wrapper (COPY is not part of the wrapper)."""
    return getattr(cursor, "cursor", cursor)


def _stage(cursor, model, columns: list[str], rows: list[tuple]) -> None:
    """Create the staging table with the columns' own types and fill it."""
    table = model._meta.db_table
    names = ", ".join(columns)
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {STAGE} AS SELECT {names} FROM {table} WHERE 1 = 0"  # noqa: S608
    )
    _load(cursor, model, STAGE, columns, rows)


def _load(cursor, model, table: str, columns: list[str], rows: list[tuple]) -> None:
    names = ", ".join(columns)
    if connection.vendor == "postgresql":
        data = io.StringIO(rows.text) if isinstance(rows, Rendered) else copy_lines(rows)
        # psycopg2 reads the data through Python in `size` pieces, taking the GIL for each: one
        # piece, so that a writer thread does not queue for the GIL behind a busy main thread
        # (the default 8 KiB pieces cost the import a wait per piece).
        size = max(len(rows.text) if isinstance(rows, Rendered) else 0, 8192)
        _raw(cursor).copy_expert(f"COPY {table} ({names}) FROM STDIN", data, size=size)
    else:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {table} ({names}) VALUES ({marks})",  # noqa: S608
            _prepared(model, columns, rows),
        )


@contextmanager
def _cursor(cursor=None):
    if cursor is not None:
        yield cursor
    else:
        with connection.cursor() as own:
            yield own


def insert(
    model,
    columns: list[str],
    rows: list[tuple],
    *,
    returning: tuple[str, ...] = (),
    ignore_conflicts: bool = False,
    cursor=None,
) -> list[tuple]:
    """INSERT the rows; with `returning`, those columns of the inserted rows (any order).
    `ignore_conflicts` skips rows that would violate a unique constraint.

    Plain inserts go straight in (COPY on PostgreSQL); the other two need the staging table.
    `cursor` lets the import's writer thread pass its own (same connection, same transaction).
    """
    if not rows:
        return []
    table = model._meta.db_table
    with _cursor(cursor) as cursor:
        if not returning and not ignore_conflicts:
            _load(cursor, model, table, columns, rows)
            return []
        names = ", ".join(columns)
        sql = f"INSERT INTO {table} ({names}) SELECT {names} FROM {STAGE} WHERE 1 = 1"  # noqa: S608
        if ignore_conflicts:
            sql += " ON CONFLICT DO NOTHING"
        if returning:
            sql += f" RETURNING {', '.join(returning)}"
        _stage(cursor, model, columns, rows)
        cursor.execute(sql)
        result = cursor.fetchall() if returning else []
        cursor.execute(f"DROP TABLE {STAGE}")
    return result


def upsert(model, columns: list[str], rows: list[tuple], *, key: tuple[str, ...], cursor=None):
    """INSERT the rows; a row whose `key` columns match an existing one updates its other
    columns instead (through the staging table, one statement)."""
    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(columns)
    assignments = ", ".join(f"{name} = EXCLUDED.{name}" for name in columns if name not in key)
    with _cursor(cursor) as cursor:
        _stage(cursor, model, columns, rows)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {STAGE} WHERE 1 = 1"  # noqa: S608
            f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {assignments}"
        )
        cursor.execute(f"DROP TABLE {STAGE}")


def allocate_ids(model, count: int) -> list[int]:
    """`count` primary keys for rows about to be inserted, so that rows referring to them can
    be built before the insert. PostgreSQL takes them from the table's sequence; SQLite (whose
    transactions here take the write lock at BEGIN) continues after the highest key it has
    ever handed out."""
    if count <= 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX({pk}), 0) FROM {table}")  # noqa: S608
        highest = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        recorded = cursor.fetchone()
        start = max(highest, recorded[0] if recorded else 0) + 1
        if recorded:
            cursor.execute(
                "UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [start + count - 1, table]
            )
        else:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)",
                [table, start + count - 1],
            )
        return list(range(start, start + count))


def update(model, columns: list[str], rows: list[tuple], *, cursor=None) -> int:
    """UPDATE by primary key: each row is (pk, *values of `columns`)."""
    if not rows:
        return 0
    table = model._meta.db_table
    pk = model._meta.pk.column
    assignments = ", ".join(f"{column} = s.{column}" for column in columns)
    with _cursor(cursor) as cursor:
        _stage(cursor, model, [pk, *columns], rows)
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM {STAGE} s WHERE {table}.{pk} = s.{pk}"  # noqa: S608
        )
        count = cursor.rowcount
        cursor.execute(f"DROP TABLE {STAGE}")
    return count


def json_safe(value):
    """A column value as it can sit in a JSON field (and come back through `to_python`)."""
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
