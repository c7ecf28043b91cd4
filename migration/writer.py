"""Set-based writes of many rows: stage them in a temporary table, then one statement.

PostgreSQL stages through COPY (the fastest way in), SQLite through executemany; the statement
that follows — INSERT … SELECT … RETURNING, or UPDATE … FROM — is the same SQL on both.
Call inside a transaction; the staging table is dropped after each use.
"""

import datetime
import io
import json
from decimal import Decimal

from django.db import connection

STAGE = "import_stage"


def _copy_text(value) -> str:
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, datetime.date | datetime.datetime):
        value = value.isoformat()
    elif not isinstance(value, str):
        value = str(value)
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _prepared(model, columns: list[str], rows: list[tuple]) -> list[tuple]:
    fields = [model._meta.get_field(column) for column in columns]
    return [
        tuple(
            None if value is None else field.get_db_prep_save(value, connection)
            for field, value in zip(fields, row, strict=True)
        )
        for row in rows
    ]


def _stage(cursor, model, columns: list[str], rows: list[tuple]) -> None:
    """Create the staging table with the columns' own types and fill it."""
    table = model._meta.db_table
    names = ", ".join(columns)
    cursor.execute(f"DROP TABLE IF EXISTS {STAGE}")
    cursor.execute(
        f"CREATE TEMPORARY TABLE {STAGE} AS SELECT {names} FROM {table} WHERE 1 = 0"  # noqa: S608
    )
    if connection.vendor == "postgresql":
        buffer = io.StringIO()
        for row in rows:
            buffer.write("\t".join(_copy_text(value) for value in row))
            buffer.write("\n")
        buffer.seek(0)
        cursor.cursor.copy_expert(f"COPY {STAGE} ({names}) FROM STDIN", buffer)
    else:
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(
            f"INSERT INTO {STAGE} ({names}) VALUES ({marks})",  # noqa: S608
            _prepared(model, columns, rows),
        )


def insert(
    model,
    columns: list[str],
    rows: list[tuple],
    *,
    returning: tuple[str, ...] = (),
    ignore_conflicts: bool = False,
) -> list[tuple]:
    """INSERT the rows; with `returning`, those columns of the inserted rows (any order).
    `ignore_conflicts` skips rows that would violate a unique constraint."""
    if not rows:
        return []
    names = ", ".join(columns)
    sql = f"INSERT INTO {model._meta.db_table} ({names}) SELECT {names} FROM {STAGE} WHERE 1 = 1"  # noqa: S608
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
    with connection.cursor() as cursor:
        _stage(cursor, model, columns, rows)
        cursor.execute(sql)
        result = cursor.fetchall() if returning else []
        cursor.execute(f"DROP TABLE {STAGE}")
    return result


def update(model, columns: list[str], rows: list[tuple]) -> int:
    """UPDATE by primary key: each row is (pk, *values of `columns`)."""
    if not rows:
        return 0
    table = model._meta.db_table
    pk = model._meta.pk.column
    assignments = ", ".join(f"{column} = s.{column}" for column in columns)
    with connection.cursor() as cursor:
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
