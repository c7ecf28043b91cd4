"""Lookups of our own.

`like`: a raw, case-sensitive LIKE lookup (`search_text__like=pattern`).

Django's `contains` escapes wildcards and, on PostgreSQL, `icontains` compiles to
`UPPER(col) LIKE UPPER(...)`, which a trigram index on the bare column cannot serve. The search
column is stored folded, so a plain `LIKE` with an explicit pattern is what both backends need.
The caller escapes user input (customers.search_text.like_escape).

`any_of`: membership in a list of values sent as one parameter (`email__any_of=emails`).
"""

import json

from django.db.models import Field, ForeignObject, Lookup, TextField


@TextField.register_lookup
class Like(Lookup):
    lookup_name = "like"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        params = (*lhs_params, *rhs_params)
        if connection.vendor == "postgresql":
            # Backslash is PostgreSQL's default LIKE escape character.
            return f"{lhs} LIKE {rhs}", params
        return f"{lhs} LIKE {rhs} ESCAPE '\\'", params


@Field.register_lookup
class AnyOf(Lookup):
    """`field__any_of=values`: like `__in`, but the values go to the database as one array
    (PostgreSQL `= ANY(%s)`; SQLite `IN (SELECT value FROM json_each(%s))`), not as a
    placeholder each: for the import's batch lookups, where preparing and compiling thousands
    of placeholders is Python the import's writer waits for. The values must already be what
    the column holds (no field conversion is applied)."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        # `lhs` is the compiled column; the values are the one parameter.
        sql = f"{lhs} IN (SELECT value FROM json_each(%s))"  # noqa: S608
        return sql, (*lhs_params, json.dumps(values))


ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own (ids, here)
